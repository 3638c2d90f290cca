-- harnesssync for Neovim: shows HarnessSync drift and trigger runs live, from
-- harnesssyncd's state.subscribe notifications, and runs
-- status/drift/accept/sync/log. See :help harnesssync.
local Conn = require('harnesssync.conn')
local Triggers = require('harnesssync.triggers')

local M = {}

local PROTOCOL = 1
local SIGN_GROUP = 'harnesssync'
local SIGN_NAME = 'HarnessSyncDrift'

local defaults = {
  socket = nil, -- explicit socket path; else `hsctl socket-path`
  state_dir = nil, -- a state dir to serve (checked against daemon.info)
  account = nil, -- schema 2 account; nil = top-level targets
  hsctl = 'hsctl', -- program name or path
  autostart = true, -- start the daemon with `hsctl ping` when nothing answers
  sync_command = nil, -- string (run by 'shell') or list: what :HarnessSync sync runs
  sync_lock = true, -- run it under `hsctl lock sync --coalesce --`
  targets = nil, -- list of targets to subscribe to; nil = all
  notify = true, -- tell when the file in a buffer drifted
  sign = true, -- and put a sign on its first line
}

M.config = vim.deepcopy(defaults)

-- The drift model: target -> {changed = {...}, removed = {...}, errors = {...}},
-- replaced as a whole by every state.drifted (the daemon sends a target's
-- whole drift, not a delta).
local drift = {}
local conn = nil
local connected = false -- connected and subscribed
local notified = {} -- bufnr -> key of the drift last announced for it
local runs = Triggers.new() -- the trigger runs in progress
local last_failed = nil -- the trigger that failed last: :HarnessSync log's default

local function notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO)
end

local function list(v)
  if type(v) ~= 'table' then
    return {}
  end
  return v
end

local function with_account(params)
  if M.config.account then
    params.account = M.config.account
  end
  return params
end

-- Targets that have drifted, sorted, and the number of drifted files.
local function summary()
  local names, count = {}, 0
  for target, d in pairs(drift) do
    local n = #d.changed + #d.removed
    if n > 0 then
      table.insert(names, target)
      count = count + n
    end
  end
  table.sort(names)
  return names, count
end

--- The statusline component: "HS ✓", "HS: 2 drifted (codex)",
--- "HS: syncing…" while a trigger runs, or "HS: offline" while no daemon is
--- connected.
function M.statusline()
  if not conn then
    -- The first use starts the connection with the defaults (setup() not
    -- called): installing the plugin alone connects to nothing.
    M.setup()
  end
  if not connected then
    return 'HS: offline'
  end
  local syncing = runs:status()
  if syncing then
    return syncing
  end
  local names, count = summary()
  if count == 0 then
    return 'HS ✓'
  end
  return string.format('HS: %d drifted (%s)', count, table.concat(names, ', '))
end

local function realpath(p)
  return vim.loop.fs_realpath(p) or p
end

-- path (real) -> list of {target, kind}
local function drifted_files()
  local files = {}
  for target, d in pairs(drift) do
    for _, kind in ipairs({ 'changed', 'removed' }) do
      for _, p in ipairs(d[kind]) do
        local key = realpath(p)
        files[key] = files[key] or {}
        table.insert(files[key], { target = target, kind = kind, path = p })
      end
    end
  end
  return files
end

local function buffer_drift(bufnr, files)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  return (files or drifted_files())[realpath(vim.fn.fnamemodify(name, ':p'))]
end

-- The per-buffer indicator: a sign on line 1, b:harnesssync_drift, and one
-- notification each time a visited tracked file goes from clean to drifted.
local function update_buffers()
  local files = drifted_files()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      local hits = buffer_drift(bufnr, files)
      if M.config.sign then
        vim.fn.sign_unplace(SIGN_GROUP, { buffer = bufnr })
      end
      if hits then
        local targets = {}
        for _, h in ipairs(hits) do
          table.insert(targets, h.target)
        end
        table.sort(targets)
        local key = table.concat(targets, ', ')
        vim.b[bufnr].harnesssync_drift = key
        if M.config.sign then
          vim.fn.sign_place(0, SIGN_GROUP, SIGN_NAME, bufnr, { lnum = 1, priority = 20 })
        end
        if M.config.notify and notified[bufnr] ~= key then
          notified[bufnr] = key
          -- Short enough for one line of an 80-column screen: no hit-enter.
          notify(string.format('harnesssync: %s drifted since the sync of %s (:HarnessSync accept)',
            vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':t'), key), vim.log.levels.WARN)
        end
      else
        notified[bufnr] = nil
        if vim.b[bufnr].harnesssync_drift ~= nil then
          vim.b[bufnr].harnesssync_drift = nil
        end
      end
    end
  end
end

local function changed()
  update_buffers()
  vim.cmd('redrawstatus!')
  if vim.fn.exists('#User#HarnessSyncChanged') == 1 then
    vim.cmd('doautocmd <nomodeline> User HarnessSyncChanged')
  end
end

local function set_drift(target, params)
  local d = {
    changed = list(params.changed),
    removed = list(params.removed),
    errors = list(params.errors),
  }
  if #d.changed + #d.removed + #d.errors == 0 then
    drift[target] = nil
  else
    drift[target] = d
  end
end

-- One warning per failed run: the trigger, how it ended, its output's tail.
local function trigger_failed(p)
  last_failed = p.name
  local tail = Triggers.tail(p.output_tail)
  notify(string.format('harnesssync: trigger %s failed (%s, run %d)%s\n(:HarnessSync log %s shows the whole log)',
    p.name, Triggers.how(p), p.run, tail ~= '' and (':\n' .. tail) or '', p.name), vim.log.levels.WARN)
end

-- Which trigger runs are in progress, from trigger.list: on connecting, and
-- after a resync. after() runs once it is known (or cannot be).
local function refresh_triggers(c, after)
  c:request('trigger.list', nil, function(err, list)
    if err and err.code == -1 then
      return
    end
    if not err then
      runs:reset(list)
    end
    if after then
      after()
    end
    changed()
  end)
end

local function on_notification(method, params)
  if method == 'state.drifted' and type(params.target) == 'string' then
    set_drift(params.target, params)
    changed()
  elseif method == 'state.changed' then
    if params.kind == 'cleared' and type(params.target) == 'string' then
      drift[params.target] = nil
      changed()
    elseif params.kind == 'reloaded' and (params.target == nil or params.target == vim.NIL) and conn then
      -- A resync: trigger notifications may have been dropped too.
      refresh_triggers(conn)
    end
  elseif method == 'trigger.started' then
    if runs:started(params) then
      changed()
    end
  elseif method == 'trigger.finished' and type(params.name) == 'string' and type(params.run) == 'number' then
    local ended = runs:finished(params)
    if Triggers.failed(params) then
      trigger_failed(params)
    end
    if ended then
      changed()
    end
  end
end

local function named_state_dir()
  local d = M.config.state_dir
  if (d == nil or d == '') and not M.config.socket then
    d = os.getenv('HARNESSSYNC_HOME')
  end
  if d == nil or d == '' then
    return nil
  end
  return vim.fn.fnamemodify(vim.fn.expand(d), ':p'):gsub('(.)/$', '%1')
end

local function on_connect(c)
  drift = {}
  c:request('daemon.info', nil, function(err, info)
    if err and err.code == -1 then
      return -- the connection went away meanwhile; the next one starts over
    end
    if err or type(info) ~= 'table' then
      notify('harnesssync: daemon.info failed: ' .. (err and err.message or '?'), vim.log.levels.WARN)
      return
    end
    if info.protocol ~= PROTOCOL then
      notify(string.format('harnesssync: the daemon at %s speaks protocol %s, but this plugin speaks protocol %d. '
        .. 'What it shows may be wrong or missing: install matching versions (or run `hsctl shutdown` '
        .. 'so the next start runs the installed daemon).', c.path, tostring(info.protocol), PROTOCOL),
        vim.log.levels.WARN)
    end
    local want = named_state_dir()
    if want and type(info.state_file) == 'string'
      and realpath(info.state_file) ~= realpath(want) .. '/state.json' then
      notify(string.format('harnesssync: harnesssyncd at %s serves %s, not %s/state.json', c.path,
        info.state_file, want), vim.log.levels.ERROR)
      c:stop()
      return
    end
    local params = with_account({ triggers = true })
    if M.config.targets then
      params.targets = M.config.targets
    end
    c:request('state.subscribe', params, function(e)
      if e and e.code == -1 then
        return
      elseif e then
        notify('harnesssync: state.subscribe failed: ' .. tostring(e.message), vim.log.levels.WARN)
      else
        -- Live once the runs in progress are known, so that a reconnect
        -- during a run does not show the drift for a moment.
        refresh_triggers(c, function()
          connected = true
        end)
      end
    end)
  end)
end

local function on_disconnect()
  connected = false
  drift = {}
  runs:clear()
  changed()
end

local function ensure()
  if not conn then
    M.setup()
  end
  return conn
end

local function require_connection()
  local c = ensure()
  if c.state ~= 'connected' then
    notify('harnesssync: not connected to harnesssyncd' .. (c.path and (' at ' .. c.path) or ''), vim.log.levels.ERROR)
    return nil
  end
  return c
end

local function call(method, params)
  local c = require_connection()
  if not c then
    return nil
  end
  local err, result = c:request_sync(method, params)
  if err then
    notify(string.format('harnesssync: %s: %s', method, tostring(err.message)), vim.log.levels.ERROR)
    return nil
  end
  return result
end

--- :HarnessSync status — every target as `hsctl status` shows it. Returns
--- the lines (also echoed).
function M.status()
  local doc = call('state.all', nil)
  if not doc then
    return nil
  end
  local scope = doc
  if M.config.account then
    scope = type(doc.accounts) == 'table' and doc.accounts[M.config.account] or {}
  end
  local targets = type(scope) == 'table' and type(scope.targets) == 'table' and scope.targets or {}
  local last = type(scope) == 'table' and scope.last_sync
  local lines = { 'last sync: ' .. (type(last) == 'string' and last or 'never') }
  local names = vim.tbl_keys(targets)
  table.sort(names)
  if #names > 0 then
    table.insert(lines, string.format('%-16s %-8s %-26s %7s %7s  %s', 'TARGET', 'STATUS', 'LAST SYNC', 'SYNCED', 'FAILED',
      'DRIFT'))
  end
  for _, name in ipairs(names) do
    local e = type(targets[name]) == 'table' and targets[name] or {}
    local d = call('state.drift', with_account({ target = name }))
    if not d then
      return nil
    end
    local n = #list(d.drifted)
    local function s(v)
      return (type(v) == 'string' or type(v) == 'number') and tostring(v) or ''
    end
    table.insert(lines, string.format('%-16s %-8s %-26s %7s %7s  %s', name, s(e.status), s(e.last_sync),
      s(e.items_synced), s(e.items_failed), n == 0 and 'none' or (n .. (n == 1 and ' file' or ' files'))))
  end
  for _, t in ipairs({ 'codex', 'gemini', 'opencode' }) do
    if targets[t] == nil then
      table.insert(lines, string.format('%-16s never synced', t))
    end
  end
  local chunks = {}
  for _, l in ipairs(lines) do
    table.insert(chunks, { l .. '\n' })
  end
  vim.api.nvim_echo(chunks, true, {})
  return lines
end

local function drifted_targets()
  local names = summary()
  return names
end

--- :HarnessSync drift [target] — the drifted files in the quickfix list.
--- Returns the quickfix items.
function M.drift(target)
  local targets = target and { target } or drifted_targets()
  if #targets == 0 then
    notify('harnesssync: nothing drifted')
    vim.fn.setqflist({}, ' ', { title = 'HarnessSync drift', items = {} })
    return {}
  end
  local items = {}
  for _, t in ipairs(targets) do
    local d = call('state.drift', with_account({ target = t }))
    if not d then
      return nil
    end
    if d.tracked == false then
      notify('harnesssync: ' .. t .. ' has no sync record', vim.log.levels.WARN)
    end
    for _, kind in ipairs({ 'changed', 'added', 'removed' }) do
      for _, p in ipairs(list(d[kind])) do
        table.insert(items, { filename = p, lnum = 1, text = kind .. ' since the last sync of ' .. t })
      end
    end
    for _, e in ipairs(list(d.errors)) do
      table.insert(items, { filename = e.path, lnum = 1, text = 'unreadable (' .. tostring(e.reason) .. ') for ' .. t,
        type = 'E' })
    end
  end
  vim.fn.setqflist({}, ' ', { title = 'HarnessSync drift: ' .. table.concat(targets, ', '), items = items })
  if #items > 0 then
    vim.cmd('copen')
  else
    notify('harnesssync: ' .. table.concat(targets, ', ') .. ': no drift')
  end
  return items
end

--- :HarnessSync accept [target] [path] — take drifted files as they are now
--- as the new baseline. Without a path: the current buffer's file when it
--- drifted in that target, else every drifted file of the target.
function M.accept(target, path)
  local here = buffer_drift(vim.api.nvim_get_current_buf())
  if not target then
    if here then
      target = here[1].target
    else
      local names = drifted_targets()
      if #names ~= 1 then
        notify(#names == 0 and 'harnesssync: nothing drifted'
          or ('harnesssync: several targets drifted (' .. table.concat(names, ', ') .. '); name one'),
          #names == 0 and vim.log.levels.INFO or vim.log.levels.WARN)
        return nil
      end
      target = names[1]
    end
  end
  local paths = {}
  if path then
    paths = { vim.fn.fnamemodify(vim.fn.expand(path), ':p') }
  else
    for _, h in ipairs(here or {}) do
      if h.target == target then
        table.insert(paths, h.path)
      end
    end
    if #paths == 0 then
      local d = drift[target]
      if d then
        vim.list_extend(paths, d.changed)
        vim.list_extend(paths, d.removed)
      end
    end
  end
  if #paths == 0 then
    notify('harnesssync: ' .. target .. ': nothing to accept')
    return nil
  end
  local r = call('state.accept', with_account({ target = target, paths = paths }))
  if not r then
    return nil
  end
  notify(string.format('harnesssync: %s: accepted %d file(s), forgot %d removed', target, #list(r.updated),
    #list(r.removed)))
  return r
end

-- The message for a sync that ended with `code`: from hsctl's --json object
-- (`outcome`, nil when hsctl printed none) under the lock, else from the
-- command's status and the last line it (or hsctl) wrote on stderr.
local function sync_message(code, outcome, last)
  if outcome and outcome.coalesced == true then
    local holder = type(outcome.holder_pid) == 'number' and ('pid ' .. outcome.holder_pid) or 'a process of unknown pid'
    return string.format('harnesssync: the sync already waiting covers this one (lock %s is held by %s)',
      tostring(outcome.name), holder), vim.log.levels.INFO
  end
  if code == 0 then
    return 'harnesssync: sync finished', vim.log.levels.INFO
  end
  if outcome and outcome.acquired == false then
    local holder = type(outcome.holder_pid) == 'number' and ('pid ' .. outcome.holder_pid) or 'a process of unknown pid'
    return 'harnesssync: a sync is already running (held by ' .. holder .. ')', vim.log.levels.WARN
  end
  return string.format('harnesssync: sync failed (exit %d)%s', code, last ~= '' and (': ' .. last) or ''),
      vim.log.levels.ERROR
end

--- :HarnessSync sync — run sync_command under `hsctl --json lock sync
--- --coalesce`. on_exit(code, message, outcome) is called when it ends (for
--- tests and scripts); outcome is hsctl's --json object (nil without the lock).
function M.sync(on_exit)
  local cmd = M.config.sync_command
  if cmd == nil or cmd == '' then
    notify('harnesssync: set sync_command in require("harnesssync").setup{} first', vim.log.levels.ERROR)
    return nil
  end
  if type(cmd) == 'string' then
    cmd = { vim.o.shell, vim.o.shellcmdflag, cmd }
  end
  local argv = cmd
  if M.config.sync_lock then
    local c = ensure()
    local hsctl = c:hsctl_path()
    if not hsctl then
      notify(Conn.no_hsctl_message(M.config.hsctl) .. ' (the sync lock needs it; or set sync_lock = false)',
        vim.log.levels.ERROR)
      return nil
    end
    argv = vim.list_extend({ hsctl, '--json' }, c:hsctl_args('lock', 'sync', '--coalesce', '--'))
    vim.list_extend(argv, cmd)
  end
  -- jobstart hands output over in chunks: a chunk's first item continues
  -- the line the previous chunk ended in (:help channel-lines).
  local function collector()
    local lines = { '' }
    return lines, function(_, data)
      lines[#lines] = lines[#lines] .. data[1]
      for i = 2, #data do
        table.insert(lines, data[i])
      end
    end
  end
  local outlines, on_stdout = collector()
  local errlines, on_stderr = collector()
  local job = vim.fn.jobstart(argv, {
    on_stdout = on_stdout,
    on_stderr = on_stderr,
    on_exit = function(_, code)
      local last = ''
      for _, l in ipairs(errlines) do
        if l ~= '' then
          last = l
        end
      end
      -- Under the lock, hsctl's stdout is its one --json object.
      local outcome
      if M.config.sync_lock then
        local ok, decoded = pcall(vim.json.decode, table.concat(outlines, '\n'))
        outcome = ok and type(decoded) == 'table' and decoded or nil
      end
      local msg, level = sync_message(code, outcome, last)
      notify(msg, level)
      if on_exit then
        on_exit(code, msg, outcome)
      end
    end,
  })
  if job <= 0 then
    notify('harnesssync: cannot run ' .. argv[1], vim.log.levels.ERROR)
    return nil
  end
  return job
end

-- trigger.log's runs as lines: a heading per run, then its output.
local function log_lines(name, entries)
  local lines = {}
  for _, r in ipairs(entries) do
    local how = r.coalesced == true and 'coalesced' or (r.ended == nil or r.ended == vim.NIL) and 'running'
      or Triggers.how(r)
    local changed_paths = type(r.changed) == 'number' and (r.changed .. ' changed') or 'changes unknown (*)'
    table.insert(lines, string.format('%s run %d  started %s  %s  %s ms  %s', name, r.run, tostring(r.started), how,
      tostring(r.duration_ms), changed_paths))
    local out = type(r.output) == 'table' and r.output or {}
    for _, key in ipairs({ 'stdout', 'stderr' }) do
      if type(out[key]) == 'string' and out[key] ~= '' then
        table.insert(lines, '--- ' .. key)
        vim.list_extend(lines, vim.split(out[key]:gsub('\n$', ''), '\n', { plain = true }))
      end
    end
    table.insert(lines, '')
  end
  return lines
end

--- :HarnessSync log [trigger] — the trigger's last runs and their whole
--- output (trigger.log) in a scratch buffer. Without a name: the trigger
--- that failed last, else the only trigger. Returns the lines.
function M.log(name)
  if name == nil or name == '' then
    name = last_failed
  end
  if name == nil then
    local names = vim.tbl_keys(runs.known)
    if #names ~= 1 then
      local list = call('trigger.list', nil)
      if not list then
        return nil
      end
      names = vim.tbl_map(function(t) return t.name end, list)
    end
    if #names ~= 1 then
      table.sort(names)
      notify(#names == 0 and 'harnesssync: no trigger is set (hsctl trigger set)'
        or ('harnesssync: several triggers (' .. table.concat(names, ', ') .. '); name one'), vim.log.levels.WARN)
      return nil
    end
    name = names[1]
  end
  local entries = call('trigger.log', { name = name })
  if not entries then
    return nil
  end
  local lines = log_lines(name, entries)
  if #lines == 0 then
    lines = { name .. ': no run yet' }
  end
  vim.cmd('botright new')
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, 'harnesssync://trigger-log/' .. name)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.cmd('normal! G')
  return lines
end

--- The triggers running now, sorted by name.
function M.get_running_triggers()
  return runs:running_names()
end

--- Drops the connection and connects again (and re-subscribes).
function M.reconnect()
  local c = ensure()
  c:stop()
  c.state = 'idle'
  c.reported = false
  c:start()
end

--- The current drift model (a copy): target -> {changed, removed, errors}.
function M.get_drift()
  return vim.deepcopy(drift)
end

function M.is_connected()
  return connected
end

--- 'live' (subscribed) or 'offline'.
function M.mode()
  return connected and 'live' or 'offline'
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  vim.fn.sign_define(SIGN_NAME, { text = 'HS', texthl = 'WarningMsg' })
  if conn then
    conn:stop()
  end
  connected = false
  drift = {}
  runs = Triggers.new()
  conn = Conn.new({
    socket = M.config.socket,
    state_dir = M.config.state_dir,
    hsctl = M.config.hsctl,
    autostart = M.config.autostart,
    on_connect = on_connect,
    on_disconnect = on_disconnect,
    on_notification = on_notification,
    on_problem = function(msg, level)
      notify(msg, level)
    end,
  })
  vim.cmd([[
    augroup harnesssync
      autocmd!
      autocmd BufReadPost,BufNewFile,BufWritePost * lua require('harnesssync')._buffer_event()
      autocmd VimLeavePre * lua require('harnesssync')._stop()
    augroup END
  ]])
  conn:start()
end

function M._buffer_event()
  if next(drift) ~= nil then
    update_buffers()
  end
end

function M._stop()
  if conn then
    conn:stop()
  end
end

-- The connection (harnesssync.conn), for tests.
function M._connection()
  return conn
end

-- The socket path in use (nil before the first attempt).
function M.socket_path()
  return conn and conn.path
end

local SUBCOMMANDS = { 'status', 'drift', 'accept', 'sync', 'log', 'reconnect' }

function M.complete(arglead, cmdline)
  local words = vim.split(cmdline, '%s+')
  if #words <= 2 then
    return vim.tbl_filter(function(s)
      return s:find(arglead, 1, true) == 1
    end, SUBCOMMANDS)
  end
  if #words == 3 and (words[2] == 'drift' or words[2] == 'accept') then
    local names = vim.tbl_keys(drift)
    table.sort(names)
    return vim.tbl_filter(function(s)
      return s:find(arglead, 1, true) == 1
    end, names)
  end
  if #words == 3 and words[2] == 'log' then
    local names = vim.tbl_keys(runs.known)
    table.sort(names)
    return vim.tbl_filter(function(s)
      return s:find(arglead, 1, true) == 1
    end, names)
  end
  if #words == 4 and words[2] == 'accept' then
    return vim.fn.getcompletion(arglead, 'file')
  end
  return {}
end

function M.command(args)
  local sub = args[1]
  if sub == 'status' then
    M.status()
  elseif sub == 'drift' then
    M.drift(args[2])
  elseif sub == 'accept' then
    M.accept(args[2], args[3])
  elseif sub == 'sync' then
    M.sync()
  elseif sub == 'log' then
    M.log(args[2])
  elseif sub == 'reconnect' then
    M.reconnect()
  else
    notify('harnesssync: usage: :HarnessSync status|drift [target]|accept [target] [path]|sync|log [trigger]|reconnect',
      vim.log.levels.ERROR)
  end
end

return M
