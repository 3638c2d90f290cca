-- Test helpers for the headless Neovim tests: fail loudly, wait generously.
local H = {}

H.notes = {}
vim.notify = function(msg, level)
  table.insert(H.notes, { msg = msg, level = level })
  io.stdout:write('  notify: ' .. msg .. '\n')
end

function H.fail(msg)
  io.stdout:write('FAIL: ' .. msg .. '\n')
  vim.cmd('cquit 1')
end

function H.check(cond, msg)
  if not cond then
    H.fail(msg)
  end
end

function H.log(msg)
  io.stdout:write(msg .. '\n')
end

-- Waits up to timeout_ms for f() to be true; returns the time it took (ms).
function H.wait(timeout_ms, f, what)
  local t0 = vim.loop.hrtime()
  if not vim.wait(timeout_ms, f, 10) then
    H.fail('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what)
  end
  return (vim.loop.hrtime() - t0) / 1e6
end

function H.sh(argv)
  local out = vim.fn.system(argv)
  return vim.v.shell_error, out
end

return H
