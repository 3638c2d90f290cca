-- One connection to harnesssyncd over its Unix socket, with vim.loop (libuv)
-- pipes: bare JSON framing, one compact JSON text per line each way (the
-- daemon answers a bare request with compact JSON and "\n", and sends its
-- notifications in the framing of the last request: docs/PROTOCOL.md, 2).
--
-- The connection finds the socket (explicit setting, else `hsctl
-- socket-path`: the rule lives in hsctl alone), starts the daemon through
-- `hsctl ping` when nothing answers (unless autostart is off), and
-- reconnects with back-off whenever the daemon goes away. Failures are
-- reported once per outage through `on_problem`, never on every retry.
local uv = vim.loop

local M = {}
M.__index = M

-- Back-off between reconnect attempts, in ms; the last one repeats. Short at
-- first, because a restart (`hsctl shutdown` then any hsctl command) takes
-- well under a second.
local BACKOFF = { 100, 250, 500, 1000, 2000, 5000, 10000 }

local function is_executable(path)
  return path ~= nil and path ~= '' and vim.fn.executable(path) == 1
end

local function trim(s)
  return (s:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- What to say when there is no hsctl: the one thing to install.
function M.no_hsctl_message(hsctl)
  return string.format('harnesssync: hsctl was not found (looked for %q): install the harnesssync package, '
    .. 'which provides hsctl and harnesssyncd, or set the hsctl option to its path', hsctl or 'hsctl')
end

-- opts: socket, state_dir, account, hsctl, autostart, and the callbacks
-- on_connect(conn), on_disconnect(conn), on_notification(method, params),
-- on_problem(msg, level).
function M.new(opts)
  local self = setmetatable({}, M)
  self.opts = opts
  self.pipe = nil
  self.state = 'idle' -- idle | connecting | connected | waiting | stopped
  self.next_id = 0
  self.pending = {}
  self.buf = ''
  self.attempt = 0
  self.reported = false -- a problem was reported in this outage
  self.timer = nil
  self.path = nil
  self.generation = 0 -- bumps per connection; stale callbacks check it
  return self
end

function M:hsctl_path()
  local h = self.opts.hsctl or 'hsctl'
  if h:find('/') then
    return is_executable(h) and h or nil
  end
  local found = vim.fn.exepath(h)
  return found ~= '' and found or nil
end

function M:hsctl_args(...)
  local args = {}
  if self.opts.socket and self.opts.socket ~= '' then
    vim.list_extend(args, { '--socket', self.opts.socket })
  end
  if self.opts.state_dir and self.opts.state_dir ~= '' then
    vim.list_extend(args, { '--state-dir', vim.fn.expand(self.opts.state_dir) })
  end
  vim.list_extend(args, { ... })
  return args
end

-- The socket path: the explicit setting, else what hsctl prints. Returns
-- path, or nil and a reason.
function M:resolve_path()
  if self.opts.socket and self.opts.socket ~= '' then
    return vim.fn.expand(self.opts.socket)
  end
  local hsctl = self:hsctl_path()
  if not hsctl then
    return nil, M.no_hsctl_message(self.opts.hsctl)
  end
  local out = vim.fn.system(vim.list_extend({ hsctl }, self:hsctl_args('socket-path')))
  if vim.v.shell_error ~= 0 then
    return nil, 'harnesssync: cannot find the daemon socket: ' .. trim(out)
  end
  return trim(out)
end

function M:problem(msg, level)
  if self.reported then
    return
  end
  self.reported = true
  if self.opts.on_problem then
    self.opts.on_problem(msg, level or vim.log.levels.WARN)
  end
end

function M:start()
  if self.state == 'stopped' or self.state == 'idle' then
    self.state = 'waiting'
    self.attempt = 0
    self:connect()
  end
end

function M:stop()
  self.state = 'stopped'
  if self.timer then
    self.timer:stop()
    self.timer:close()
    self.timer = nil
  end
  self:close_pipe('stopped')
end

function M:schedule_retry()
  if self.state == 'stopped' then
    return
  end
  self.state = 'waiting'
  self.attempt = self.attempt + 1
  local delay = BACKOFF[math.min(self.attempt, #BACKOFF)]
  if not self.timer then
    self.timer = uv.new_timer()
  end
  self.timer:stop()
  self.timer:start(delay, 0, vim.schedule_wrap(function()
    if self.state == 'waiting' then
      self:connect()
    end
  end))
end

-- Connects once; on refusal may start the daemon, else schedules a retry.
function M:connect(after_spawn)
  if self.state == 'stopped' or self.state == 'connected' or self.state == 'connecting' then
    return
  end
  local path, why = self:resolve_path()
  if not path then
    self:problem(why, vim.log.levels.ERROR)
    return self:schedule_retry()
  end
  self.path = path
  self.state = 'connecting'
  local pipe = uv.new_pipe(false)
  pipe:connect(path, function(err)
    vim.schedule(function()
      if self.state ~= 'connecting' then
        if not pipe:is_closing() then
          pipe:close()
        end
        return
      end
      if err then
        pipe:close()
        self.state = 'waiting'
        self:on_refused(err, after_spawn)
      else
        self:on_connected(pipe)
      end
    end)
  end)
end

function M:on_refused(err, after_spawn)
  local hsctl = self:hsctl_path()
  if self.opts.autostart ~= false and hsctl and not after_spawn then
    self:spawn_daemon(hsctl)
    return
  end
  if not hsctl and self.opts.autostart ~= false then
    self:problem(string.format('harnesssync: no daemon answers at %s (%s), and it cannot be started: %s. '
      .. 'Retrying quietly.', self.path, err, (M.no_hsctl_message(self.opts.hsctl):gsub('^harnesssync: ', ''))),
      vim.log.levels.ERROR)
  else
    self:problem(string.format('harnesssync: no daemon answers at %s (%s); retrying quietly.', self.path, err))
  end
  self:schedule_retry()
end

-- `hsctl ping` starts the daemon safely even when many clients race to
-- (docs/PROTOCOL.md, section 1).
function M:spawn_daemon(hsctl)
  self.state = 'connecting'
  local stderr = uv.new_pipe(false)
  local errout = {}
  local handle
  handle = uv.spawn(hsctl, { args = self:hsctl_args('ping'), stdio = { nil, nil, stderr } },
    function(code)
      handle:close()
      vim.schedule(function()
        if not stderr:is_closing() then
          stderr:close()
        end
        if self.state ~= 'connecting' then
          return
        end
        self.state = 'waiting'
        if code == 0 then
          self:connect(true)
        else
          self:problem(string.format('harnesssync: hsctl ping could not start the daemon (exit %d): %s',
            code, trim(table.concat(errout))), vim.log.levels.ERROR)
          self:schedule_retry()
        end
      end)
    end)
  if not handle then
    stderr:close()
    self.state = 'waiting'
    self:problem('harnesssync: cannot run ' .. hsctl, vim.log.levels.ERROR)
    return self:schedule_retry()
  end
  stderr:read_start(function(_, data)
    if data then
      table.insert(errout, data)
    end
  end)
end

function M:on_connected(pipe)
  self.pipe = pipe
  self.state = 'connected'
  self.generation = self.generation + 1
  self.buf = ''
  local gen = self.generation
  -- Kept, so that reading can stop and start again (the tests make the
  -- daemon owe a resync that way).
  self.reader = function(err, data)
    if err or not data then
      vim.schedule(function()
        if self.generation == gen then
          self:close_pipe(err or 'closed by the daemon')
          self:schedule_retry()
        end
      end)
      return
    end
    -- Runs in a fast (luv) callback: only buffer here, decode on the main loop.
    vim.schedule(function()
      if self.generation == gen then
        self:feed(data)
      end
    end)
  end
  pipe:read_start(self.reader)
  self.attempt = 0
  self.reported = false
  if self.opts.on_connect then
    self.opts.on_connect(self)
  end
end

function M:close_pipe(reason)
  local was = self.pipe ~= nil
  if self.pipe then
    if not self.pipe:is_closing() then
      self.pipe:close()
    end
    self.pipe = nil
  end
  self.generation = self.generation + 1
  local pending = self.pending
  self.pending = {}
  for _, cb in pairs(pending) do
    cb({ code = -1, message = 'connection lost: ' .. tostring(reason) }, nil)
  end
  if self.state ~= 'stopped' then
    self.state = 'waiting'
  end
  if was and self.opts.on_disconnect then
    self.opts.on_disconnect(self)
  end
end

local function denull(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

function M:feed(data)
  self.buf = self.buf .. data
  while true do
    local nl = self.buf:find('\n', 1, true)
    if not nl then
      break
    end
    local line = self.buf:sub(1, nl - 1)
    self.buf = self.buf:sub(nl + 1)
    if line:find('%S') then
      local ok, msg = pcall(vim.json.decode, line)
      if ok and type(msg) == 'table' then
        self:dispatch(msg)
      end
    end
  end
end

function M:dispatch(msg)
  if msg.method ~= nil and msg.id == nil then
    if self.opts.on_notification then
      self.opts.on_notification(msg.method, denull(msg.params) or {})
    end
    return
  end
  local id = denull(msg.id)
  local cb = id and self.pending[id]
  if not cb then
    return
  end
  self.pending[id] = nil
  local e = denull(msg.error)
  if e then
    cb(e, nil)
  else
    cb(nil, denull(msg.result))
  end
end

-- Sends a request; cb(err, result) runs on the main loop. err is the
-- JSON-RPC error object, or {code = -1, message} when not connected.
function M:request(method, params, cb)
  cb = cb or function() end
  if self.state ~= 'connected' or not self.pipe then
    cb({ code = -1, message = 'not connected to harnesssyncd' }, nil)
    return
  end
  self.next_id = self.next_id + 1
  local id = self.next_id
  local msg = { jsonrpc = '2.0', id = id, method = method }
  if params ~= nil then
    msg.params = params
  end
  self.pending[id] = cb
  self.pipe:write(vim.json.encode(msg) .. '\n')
end

-- A request waited for on the main loop (for commands); returns err, result.
function M:request_sync(method, params, timeout_ms)
  local done, e, r = false, nil, nil
  self:request(method, params, function(err, result)
    done, e, r = true, err, result
  end)
  if not vim.wait(timeout_ms or 10000, function()
    return done
  end, 10) then
    return { code = -1, message = 'no answer from harnesssyncd within ' .. (timeout_ms or 10000) .. ' ms' }, nil
  end
  return e, r
end

return M
