-- No daemon and no hsctl: exactly one message, however many retries, and
-- without hsctl no socket path at all (the plugin has no rule of its own).
local H = dofile(os.getenv('HS_TEST_DIR') .. '/helpers.lua')
local hs = require('harnesssync')
local tmp = os.getenv('HS_TMP')

vim.env.PATH = '/nonexistent'
-- A state dir no daemon serves (run.sh's daemon may still run for its own).
vim.env.HARNESSSYNC_HOME = tmp .. '/nobody-serves-this'
hs.setup({ socket = tmp .. '/nobody-here.sock', hsctl = 'hsctl' })
-- Back-off retries at 0.1, 0.35, 0.85, 1.85 and 3.85 s: wait past several.
vim.wait(4500)
H.check(hs.statusline() == 'HS: offline', 'statusline: ' .. hs.statusline())
H.check(#H.notes == 1, #H.notes .. ' messages, wanted 1')
H.check(H.notes[1].msg:find('install the harnesssync package', 1, true) and H.notes[1].msg:find('nobody-here.sock', 1, true),
  'the message names neither what to install nor the socket: ' .. H.notes[1].msg)
H.log('ok: one message: ' .. H.notes[1].msg)
-- And with no socket setting either: nothing to find the socket with but
-- hsctl. One message, naming what to install, however many retries.
H.notes = {}
hs.setup({ hsctl = 'hsctl' })
vim.wait(2000)
H.check(#H.notes == 1, #H.notes .. ' messages without a socket setting, wanted 1')
H.check(H.notes[1].msg == 'harnesssync: hsctl was not found (looked for "hsctl"): install the harnesssync package, '
  .. 'which provides hsctl and harnesssyncd, or set the hsctl option to its path', 'message: ' .. H.notes[1].msg)
H.check(hs.socket_path() == nil, 'a socket path without hsctl: ' .. tostring(hs.socket_path()))
H.log('ok: one message without hsctl: ' .. H.notes[1].msg)
H.log('nodaemon: all passed')
vim.cmd('qall!')
