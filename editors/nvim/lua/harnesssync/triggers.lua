-- Trigger runs as harnesssyncd announces them (trigger.started and
-- trigger.finished, docs/PROTOCOL.md "Triggers"): which runs are in progress,
-- and what to say when one fails. No I/O here: init.lua feeds it.
local M = {}
M.__index = M

-- How much of a failed run's output the warning shows.
M.TAIL_LINES = 10
M.TAIL_BYTES = 2048

function M.new()
  -- running: name -> {[run] = true}, the runs started and not finished.
  -- Keyed by run too: a trigger replaced by trigger.set starts counting
  -- again while its old run still finishes, and each finish ends its own.
  -- known: every trigger name seen (trigger.list or a notification).
  return setmetatable({ running = {}, known = {} }, M)
end

local function valid(p)
  return type(p) == 'table' and type(p.name) == 'string' and type(p.run) == 'number'
end

-- trigger.started. Returns true when what is shown changed.
function M:started(p)
  if not valid(p) then
    return false
  end
  self.known[p.name] = true
  self.running[p.name] = self.running[p.name] or {}
  self.running[p.name][p.run] = true
  return true
end

-- trigger.finished. Returns true when what is shown changed. A coalesced
-- run had no trigger.started and ends nothing.
function M:finished(p)
  if not valid(p) then
    return false
  end
  self.known[p.name] = true
  local runs = self.running[p.name]
  if p.coalesced == true or not runs or not runs[p.run] then
    return false
  end
  runs[p.run] = nil
  if next(runs) == nil then
    self.running[p.name] = nil
  end
  return true
end

-- A trigger.list answer replaces the whole picture: asked on connecting
-- (a run already in progress shows) and after a resync (notifications were
-- dropped, a trigger.finished among them maybe). A running trigger's run
-- in progress is its `runs`: the count includes the run that started.
function M:reset(list)
  self.running, self.known = {}, {}
  for _, t in ipairs(type(list) == 'table' and list or {}) do
    if type(t) == 'table' and type(t.name) == 'string' then
      self.known[t.name] = true
      if t.state == 'running' and type(t.runs) == 'number' then
        self.running[t.name] = { [t.runs] = true }
      end
    end
  end
end

function M:clear()
  self.running, self.known = {}, {}
end

-- The names of the triggers running now, sorted.
function M:running_names()
  local names = vim.tbl_keys(self.running)
  table.sort(names)
  return names
end

-- "HS: syncing…", with the names when another trigger is known; nil when
-- nothing runs.
function M:status()
  local names = self:running_names()
  if #names == 0 then
    return nil
  end
  if #names == 1 and vim.tbl_count(self.known) <= 1 then
    return 'HS: syncing…'
  end
  return 'HS: syncing ' .. table.concat(names, ', ') .. '…'
end

-- Whether a trigger.finished is a failure: a non-zero exit, a signal, or
-- the timeout. A coalesced run ran nothing and did not fail.
function M.failed(p)
  if p.coalesced == true then
    return false
  end
  return (type(p.exit_code) == 'number' and p.exit_code ~= 0) or type(p.signal) == 'number' or p.timed_out == true
end

-- "exit 3", "killed by signal 9", "timed out (signal 15)".
function M.how(p)
  if p.timed_out == true then
    return type(p.signal) == 'number' and ('timed out (signal ' .. p.signal .. ')') or 'timed out'
  end
  if type(p.signal) == 'number' then
    return 'killed by signal ' .. p.signal
  end
  return 'exit ' .. tostring(p.exit_code)
end

-- The last TAIL_LINES lines of stdout then stderr, at most TAIL_BYTES.
-- Streams are kept apart by the daemon, so their interleaving is lost;
-- stderr goes last, where a failing command's last words usually are.
function M.tail(output)
  output = type(output) == 'table' and output or {}
  local lines = {}
  for _, key in ipairs({ 'stdout', 'stderr' }) do
    local s = output[key]
    if type(s) == 'string' then
      for line in s:gmatch('[^\n]+') do
        table.insert(lines, line)
      end
    end
  end
  local first = math.max(1, #lines - M.TAIL_LINES + 1)
  local kept, bytes = {}, 0
  for i = #lines, first, -1 do
    local l = lines[i]
    if bytes + #l + 1 > M.TAIL_BYTES then
      if #kept == 0 then
        -- One long line: its end, cut at a UTF-8 character boundary.
        local cut = l:sub(-(M.TAIL_BYTES - 1))
        table.insert(kept, 1, (cut:gsub('^[\128-\191]+', '')))
      end
      break
    end
    table.insert(kept, 1, l)
    bytes = bytes + #l + 1
  end
  return table.concat(kept, '\n')
end

return M
