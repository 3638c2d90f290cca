-- Trigger runs against the real daemon (run by run.sh): a trigger whose
-- command prints 13 lines, waits for a gate file and exits 3. The
-- statusline says syncing while it runs (also after a reconnect in the
-- middle, from trigger.list, and with the name once a second trigger is
-- known); its end gives one warning with the output's tail and the status
-- back; :HarnessSync log shows the whole output; a coalesced run (no
-- trigger.started) neither flips the status nor warns; a resync in a run
-- ends its 'syncing'.
local H = dofile(os.getenv('HS_TEST_DIR') .. '/helpers.lua')
local hs = require('harnesssync')
local hsctl = os.getenv('HS_HSCTL')
local tmp = os.getenv('HS_TMP')
local LONG = 20000

local watched = tmp .. '/watched'
local gate = tmp .. '/gate'
vim.fn.mkdir(watched, 'p')
local script = tmp .. '/failing.sh'
vim.fn.writefile({
  '#!/bin/sh',
  'i=1; while [ $i -le 12 ]; do printf "out-%02d\\n" $i; i=$((i+1)); done',
  'echo err-final >&2',
  -- Waits for the test, not a guessed time (bounded: 60 s).
  'n=0; while [ ! -e ' .. gate .. ' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done',
  'exit 3',
}, script)
vim.fn.setfperm(script, 'rwx------')

local function touch(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text or 'x\n')
  f:close()
end

local function warnings_for(run)
  local found = {}
  for _, n in ipairs(H.notes) do
    if n.msg:find('harnesssync: trigger failing failed', 1, true)
      and (run == nil or n.msg:find(', run ' .. run .. ')', 1, true)) then
      table.insert(found, n)
    end
  end
  return found
end

local function hsctl_ok(args, what)
  local rc, out = H.sh(vim.list_extend({ hsctl }, args))
  H.check(rc == 0, what .. ' failed (exit ' .. rc .. '): ' .. out)
  return out
end

hs.setup({ hsctl = hsctl })
H.wait(LONG, function() return hs.mode() == 'live' end, 'the plugin to connect')
local base = hs.statusline()
H.check(not base:find('syncing', 1, true), 'syncing before any trigger: ' .. base)

hsctl_ok({ 'trigger', 'set', 'failing', '--watch', watched, '--settle', '50', '--', script }, 'hsctl trigger set')
H.notes = {}
touch(watched .. '/edited')
local ms = H.wait(LONG, function() return hs.statusline() == 'HS: syncing…' end, 'HS: syncing… during the run')
H.log(string.format('ok: %q %.0f ms after the edit', hs.statusline(), ms))
H.check(vim.deep_equal(hs.get_running_triggers(), { 'failing' }), 'running: ' .. vim.inspect(hs.get_running_triggers()))

-- A second trigger, then a reconnect while the run goes on: trigger.list
-- says it runs (no trigger.started comes again), and names it now.
hsctl_ok({ 'trigger', 'set', 'other', '--watch', tmp .. '/other-watched', '--', '/bin/true' }, 'hsctl trigger set other')
hs.reconnect()
H.wait(LONG, function() return hs.mode() == 'live' end, 'the plugin to reconnect')
H.check(hs.statusline() == 'HS: syncing failing…', 'after the reconnect: ' .. hs.statusline())
H.log('ok: after a reconnect in the run: ' .. hs.statusline())

touch(gate)
H.wait(LONG, function() return #warnings_for(nil) > 0 end, 'the warning of the failed run')
H.wait(LONG, function() return hs.statusline() == base end, 'the status back to ' .. base)
local w = warnings_for(nil)
H.check(#w == 1, 'warnings: ' .. vim.inspect(w))
local msg = w[1].msg
H.check(w[1].level == vim.log.levels.WARN, 'level ' .. tostring(w[1].level))
H.check(msg:find('trigger failing failed (exit 3, run 1):', 1, true), 'message: ' .. msg)
-- The last 10 lines of stdout then stderr.
for i = 4, 12 do
  H.check(msg:find(string.format('\nout-%02d\n', i), 1, true), 'out-' .. i .. ' not in the tail: ' .. msg)
end
H.check(msg:find('\nerr-final\n', 1, true) and not msg:find('out-03', 1, true), 'the tail: ' .. msg)
H.check(msg:find(':HarnessSync log failing', 1, true), 'no log command named: ' .. msg)
H.log('ok: one warning with the tail, status back to ' .. hs.statusline() .. ':\n' .. msg)

-- The whole log, from the trigger that failed last.
vim.cmd('HarnessSync log')
local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
H.check(vim.api.nvim_buf_get_name(0):find('harnesssync://trigger-log/failing', 1, true), 'log buffer '
  .. vim.api.nvim_buf_get_name(0))
H.check(lines[1]:find('^failing run 1  started .*  exit 3  %d+ ms  1 changed$'), 'log heading: ' .. lines[1])
H.check(vim.tbl_contains(lines, 'out-01') and vim.tbl_contains(lines, 'err-final'), 'log: ' .. vim.inspect(lines))
vim.cmd('close')
H.log('ok: :HarnessSync log failing shows the whole output')

-- A coalesced run: the sync lock is held, a coalescing caller waits to
-- follow; the trigger's run is covered by that caller and never starts.
local gate2 = tmp .. '/gate2'
local exits = {}
local function job(name, argv)
  H.check(vim.fn.jobstart(argv, { on_exit = function(_, code) exits[name] = code end }) > 0, 'cannot run ' .. argv[1])
end
job('holder', { hsctl, 'lock', 'sync', '--', 'sh', '-c', 'while [ ! -e ' .. gate2 .. ' ]; do sleep 0.05; done' })
-- Held: held_ms counts (holder_pid is null in the portable build: getpeereid).
H.wait(LONG, function() return hsctl_ok({ '--json', 'locks' }, 'hsctl locks'):find('"held_ms":[1-9]') ~= nil end,
  'the holder to hold lock sync')
job('follower', { hsctl, 'lock', 'sync', '--coalesce', '--', 'true' })
H.wait(LONG, function() return hsctl_ok({ '--json', 'locks' }, 'hsctl locks'):find('"waiting":1', 1, true) ~= nil end,
  'the coalescing caller to wait')
local seen = {}
vim.api.nvim_create_autocmd('User', { pattern = 'HarnessSyncChanged', callback = function()
  table.insert(seen, hs.statusline())
end })
touch(watched .. '/edited', 'again\n')
H.wait(LONG, function()
  local list = vim.json.decode(hsctl_ok({ '--json', 'trigger', 'ls' }, 'hsctl trigger ls'))
  for _, t in ipairs(list) do
    if t.name == 'failing' and type(t.last) == 'table' and t.last.coalesced == true then return true end
  end
  return false
end, 'the coalesced run')
touch(gate2)
H.wait(LONG, function() return exits.holder ~= nil and exits.follower ~= nil end, 'the lock holder and the follower to end')
H.check(exits.holder == 0 and exits.follower == 0, 'the lock holder and the coalescing caller: ' .. vim.inspect(exits))
-- Run 3, failing at once: its warning comes after run 2's trigger.finished
-- on the same connection, so run 2 has been seen by then.
hsctl_ok({ 'trigger', 'run', 'failing' }, 'hsctl trigger run')
H.wait(LONG, function() return #warnings_for(3) == 1 end, 'the warning of run 3')
H.check(#warnings_for(2) == 0, 'the coalesced run warned')
local flips = 0
for i, s in ipairs(seen) do
  if s:find('syncing', 1, true) and (i == 1 or not seen[i - 1]:find('syncing', 1, true)) then
    flips = flips + 1
  end
end
H.check(flips <= 1, 'the status said syncing more often than run 3 ran: ' .. vim.inspect(seen))
H.wait(LONG, function() return hs.statusline() == base end, 'the status back after run 3')
H.log('ok: a coalesced run neither says syncing nor warns; statusline history ' .. vim.inspect(seen))

-- A resync during a run: the plugin stops reading while a trigger runs,
-- the connection fills with large state.drifted, the run ends, and 300
-- state.changed pile up. The daemon drops what waits (the trigger.finished
-- with it) and owes a resync; its state.changed 'reloaded' makes the plugin
-- ask trigger.list, or the statusline would say syncing for ever.
local flood = os.getenv('HS_FLOOD')
local gate3 = tmp .. '/gate3'
local script3 = tmp .. '/resync.sh'
vim.fn.writefile({ '#!/bin/sh', 'echo out',
  'n=0; while [ ! -e ' .. gate3 .. ' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done', 'exit 3' }, script3)
vim.fn.setfperm(script3, 'rwx------')
vim.fn.mkdir(tmp .. '/watched3', 'p')
hsctl_ok({ 'trigger', 'set', 'resync', '--watch', tmp .. '/watched3', '--settle', '50', '--', script3 }, 'set resync')
touch(tmp .. '/watched3/edited')
H.wait(LONG, function() return hs.statusline() == 'HS: syncing resync…' end, 'syncing resync')
local c = hs._connection()
c.pipe:read_stop()
local rc, out = H.sh({ 'python3', flood, hs.socket_path(), 'fill', tmp .. '/bulk' })
H.check(rc == 0, 'flood fill: ' .. out)
touch(gate3)
H.wait(LONG, function()
  return hsctl_ok({ '--json', 'trigger', 'ls' }, 'hsctl trigger ls'):find('"exit_code":3', 1, true) ~= nil
end, 'the resync run to end')
rc, out = H.sh({ 'python3', flood, hs.socket_path(), 'ticks', '300' })
H.check(rc == 0, 'flood ticks: ' .. out)
H.check(hs.statusline() == 'HS: syncing resync…', 'while not reading: ' .. hs.statusline())
c.pipe:read_start(c.reader)
H.wait(LONG, function() return hs.statusline() == base end, 'the status back after the resync')
H.log('ok: after a resync the statusline is ' .. hs.statusline() .. ' again')
hsctl_ok({ 'trigger', 'rm', 'resync' }, 'hsctl trigger rm')
hsctl_ok({ 'clear', 'bulk' }, 'hsctl clear bulk')
hsctl_ok({ 'clear', 'tick' }, 'hsctl clear tick')

hsctl_ok({ 'trigger', 'rm', 'failing' }, 'hsctl trigger rm')
hsctl_ok({ 'trigger', 'rm', 'other' }, 'hsctl trigger rm')
hs._stop()
H.log('triggers: all passed')
vim.cmd('qall!')
