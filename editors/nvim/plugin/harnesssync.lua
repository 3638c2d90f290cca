-- :HarnessSync. Loading the plugin connects to nothing: the connection starts
-- with require('harnesssync').setup(), the first :HarnessSync command, or the
-- first call of require('harnesssync').statusline().
if vim.g.loaded_harnesssync then
  return
end
vim.g.loaded_harnesssync = 1

vim.api.nvim_create_user_command('HarnessSync', function(opts)
  require('harnesssync').command(opts.fargs)
end, {
  nargs = '*',
  complete = function(arglead, cmdline)
    return require('harnesssync').complete(arglead, cmdline)
  end,
  desc = 'HarnessSync: status | drift [target] | accept [target] [path] | sync | log [trigger] | reconnect',
})
