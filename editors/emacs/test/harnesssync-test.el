;;; harnesssync-test.el --- ERT tests of harnesssync.el against a real daemon -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by run.sh (ctest: editor_emacs), which sets HS_HSCTL, HS_FILE (a file
;; recorded for target codex), HS_TMP, HARNESSSYNC_HOME and XDG_RUNTIME_DIR,
;; and leaves the daemon stopped so that the mode has to start it.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'harnesssync)

(defconst hs-test-long 20
  "Seconds to wait for anything: generous, on a loaded 2-core machine.
The 1 s goal is measured and printed, not timed.")

(defvar hs-test-notes nil "Messages from harnesssync, newest first.")

(defun hs-test--record (orig fmt &rest args)
  "Record what `harnesssync--notify' (ORIG) says with FMT and ARGS."
  (push (apply #'format-message fmt args) hs-test-notes)
  (apply orig fmt args))

(advice-add 'harnesssync--notify :around #'hs-test--record)
(setq harnesssync-events-log-size nil)  ; shown when a wait times out

(defun hs-test-wait (pred what)
  "Wait up to `hs-test-long' seconds for PRED; fail naming WHAT.
Returns the milliseconds it took."
  (let ((t0 (float-time)))
    (while (and (not (funcall pred)) (< (- (float-time) t0) hs-test-long))
      (accept-process-output nil 0.02))
    (unless (funcall pred)
      (when harnesssync--conn
        (message "jsonrpc events:\n%s" (with-current-buffer (jsonrpc-events-buffer harnesssync--conn)
                                          (buffer-string))))
      (ert-fail (format "timed out after %ss waiting for %s (indicator %S)"
                        hs-test-long what (harnesssync-indicator))))
    (* 1000 (- (float-time) t0))))

(defun hs-test-lighter ()
  "The lighter, as `minor-mode-alist' makes it.
Not `format-mode-line': a batch Emacs has no frame to format for."
  (let ((entry (cadr (assq 'harnesssync-mode minor-mode-alist))))
    (should (eq (car-safe entry) :eval))
    (eval (cadr entry) t)))

(defun hs-test-hsctl (&rest args)
  "Run hsctl with ARGS; return its exit status."
  (apply #'call-process (getenv "HS_HSCTL") nil nil nil args))

(defun hs-test-socket-path ()
  "What hsctl socket-path prints."
  (with-temp-buffer
    (call-process (getenv "HS_HSCTL") nil t nil "socket-path")
    (string-trim (buffer-string))))

(defun hs-test-script (name &rest lines)
  "An executable /bin/sh script NAME in HS_TMP made of LINES; its path."
  (let ((path (expand-file-name name (getenv "HS_TMP"))))
    (with-temp-file path (insert "#!/bin/sh\n" (string-join lines "\n") "\n"))
    (set-file-modes path #o700)
    path))

(ert-deftest harnesssync-test-0-socket-path ()
  "The socket path is what hsctl prints, asked with the package's settings."
  (let* ((log (expand-file-name "fake-hsctl.log" (getenv "HS_TMP")))
         (harnesssync-hsctl-program
          (hs-test-script "fake-hsctl" (format "echo \"$@\" >> %s" log)
                          "case \" $* \" in *\" socket-path \"*) echo /run/elsewhere/hs.sock ;; esac"))
         (harnesssync-socket nil)
         (harnesssync-state-dir (expand-file-name "sd" (getenv "HS_TMP"))))
    (should (equal (harnesssync--resolve-socket) "/run/elsewhere/hs.sock"))
    (should (equal (with-temp-buffer (insert-file-contents log) (buffer-string))
                   (format "--state-dir %s socket-path\n" harnesssync-state-dir))))
  (let ((harnesssync-hsctl-program (getenv "HS_HSCTL"))
        (harnesssync-socket nil))
    (should (equal (harnesssync--resolve-socket) (hs-test-socket-path))))
  (message "ok: the socket path comes from hsctl socket-path, with the state dir setting"))

(ert-deftest harnesssync-test-1-live ()
  "Autostart, the lighter after an edit and after accept, drift, status,
a daemon restart, and sync."
  (let ((harnesssync-hsctl-program (getenv "HS_HSCTL"))
        (harnesssync-autostart t)
        (file (getenv "HS_FILE"))
        (ms 0))
    (unwind-protect
        (progn
          (harnesssync-mode 1)
          (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS ✓")) "HS ✓ after autostart")
          (should (string-match-p " HS ✓" (hs-test-lighter)))
          (should (eql 0 (hs-test-hsctl "--no-spawn" "ping")))
          (should (eq (harnesssync-connection-mode) 'live))
          (message "ok: autostart; lighter %S" (hs-test-lighter))
          ;; Edit the tracked file in Emacs and save it.
          (with-current-buffer (find-file-noselect file)
            (erase-buffer)
            (insert "edited in emacs\n")
            (save-buffer)
            (setq ms (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS: 1 drifted (codex)"))
                                   "HS: 1 drifted (codex)"))
            (message "ok: lighter %S %.0f ms after save" (hs-test-lighter) ms)
            (should (string-match-p " HS: 1 drifted (codex)" (hs-test-lighter)))
            (should (stringp header-line-format))
            (should (string-match-p "drifted from the last sync of codex" header-line-format))
            (should (cl-some (lambda (n) (string-match-p "AGENTS.md drifted since the sync of codex" n))
                             hs-test-notes))
            (message "ok: header line %S" header-line-format))
          ;; drift lists the file; RET on it opens it.
          (should (equal (harnesssync-drift "codex") (list file)))
          (with-current-buffer "*harnesssync-drift*"
            (goto-char (point-min))
            (forward-button 1)
            (should (equal (button-get (button-at (point)) 'harnesssync-path) file))
            (push-button)
            (should (equal (buffer-file-name) file)))
          (let ((text (harnesssync-status)))
            (should (string-match-p "^codex +success .* 1 file$" text))
            (should (string-match-p "^gemini +never synced$" text))
            (message "ok: drift buffer opens the file; status:\n%s" text))
          ;; Accept from the visiting buffer: the lighter comes back.
          (with-current-buffer (get-file-buffer file)
            (call-interactively #'harnesssync-accept)
            (setq ms (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS ✓")) "HS ✓ after accept"))
            (message "ok: HS ✓ %.0f ms after accept" ms)
            (should-not header-line-format))
          ;; A daemon restart: the mode reconnects by itself (autostart off,
          ;; the test restarts the daemon) and shows drift made meanwhile.
          (setq harnesssync-autostart nil)
          (should (eql 0 (hs-test-hsctl "shutdown")))
          (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS: offline")) "HS: offline")
          (with-temp-file file (insert "edited while the daemon was down\n"))
          (sleep-for 0.3)
          (should (eql 0 (hs-test-hsctl "ping")))
          (setq ms (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS: 1 drifted (codex)"))
                                 "drift after the restart"))
          (message "ok: reconnected %.0f ms after the restart: %s" ms (harnesssync-indicator))
          (harnesssync-accept "codex")
          (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS ✓")) "HS ✓ after the second accept")
          ;; Sync: without the lock, and under it.  Under the lock the
          ;; outcome comes from hsctl's --json object on stdout alone: the
          ;; hsctl run here throws its stderr away.
          (let ((marker (expand-file-name "synced-emacs" (getenv "HS_TMP")))
                (harnesssync-hsctl-program
                 (hs-test-script "quiet-hsctl" (format "exec %s \"$@\" 2>/dev/null" (getenv "HS_HSCTL")))))
            (dolist (lock '(nil t))
              (let ((harnesssync-sync-lock lock)
                    (harnesssync-sync-command (list "sh" "-c" (format "echo ran >> %s" marker)))
                    (code nil) (outcome 'unset))
                (harnesssync-sync (lambda (c _msg o) (setq code c outcome o)))
                (hs-test-wait (lambda () code) "the sync command to end")
                (should (eql code 0))
                (if lock
                    (should (and (eq (plist-get outcome :ran) t) (eql (plist-get outcome :exit_status) 0)))
                  (should (null outcome)))))
            ;; An on-exit of two arguments, as before the outcome.
            (let ((harnesssync-sync-lock nil)
                  (harnesssync-sync-command (list "true"))
                  (code nil))
              (harnesssync-sync (lambda (c _msg) (setq code c)))
              (hs-test-wait (lambda () code) "the two-argument on-exit")
              (should (eql code 0)))
            (should (file-exists-p marker))
            ;; Three at once: one runs, one waits as the follow-up, the
            ;; third is covered by it (exit 0, told so) and runs nothing.
            (let ((harnesssync-sync-command (list "sh" "-c" (format "sleep 1; echo ran >> %s" marker)))
                  (codes (make-vector 3 nil))
                  (msgs (make-vector 3 nil))
                  (outcomes (make-vector 3 nil))
                  (before (with-temp-buffer (insert-file-contents marker) (count-lines 1 (point-max)))))
              (dotimes (i 3)
                (harnesssync-sync (lambda (c m o) (aset codes i c) (aset msgs i m) (aset outcomes i o)))
                (let ((t0 (float-time))) (while (< (- (float-time) t0) 0.3) (accept-process-output nil 0.05))))
              (hs-test-wait (lambda () (cl-every #'identity codes)) "three syncs to end")
              (should (equal codes [0 0 0]))
              (should (eq (plist-get (aref outcomes 2) :coalesced) t))
              (should (null (plist-get (aref outcomes 2) :ran)))
              ;; The portable build's daemon cannot know a peer's pid (getpeereid).
              (let ((pid (plist-get (aref outcomes 2) :holder_pid)))
                (should (eq (integerp pid) (not (equal (getenv "HS_PORTABLE") "1"))))
                (should (string-match-p
                         (format "covers this one (lock sync is held by %s)"
                                 (if pid (format "pid %d" pid) "a process of unknown pid"))
                         (aref msgs 2))))
              (should (= (+ before 2) (with-temp-buffer (insert-file-contents marker)
                                        (count-lines 1 (point-max)))))
              (message "ok: 3 syncs asked at once under the lock: 2 ran, 1 covered, told by --json"))
            (message "ok: sync")))
      (harnesssync-mode -1))))

(ert-deftest harnesssync-test-2-protocol ()
  "A daemon of another protocol gets a plain-words warning.
A fake server of our own: a real daemon cannot be made to speak protocol 2."
  (let* ((path (expand-file-name "fake-emacs.sock" (getenv "HS_TMP")))
         (server
          (make-network-process
           :name "hs-fake" :server t :family 'local :service path :coding 'binary :noquery t
           :filter
           (lambda (proc string)
             (process-put proc 'buf (concat (process-get proc 'buf) string))
             (let ((buf (process-get proc 'buf)))
               (while (string-match "Content-Length: \\([0-9]+\\)\r\n\r\n" buf)
                 (let* ((len (string-to-number (match-string 1 buf)))
                        (start (match-end 0))
                        (msg (json-parse-string (substring buf start (+ start len))
                                                :object-type 'plist))
                        (result (if (equal (plist-get msg :method) "daemon.info")
                                    '(:name "harnesssyncd" :protocol 2)
                                  '(:subscription 1)))
                        (body (encode-coding-string
                               (json-serialize (list :jsonrpc "2.0" :id (plist-get msg :id)
                                                     :result result))
                               'utf-8)))
                   (process-send-string proc (format "Content-Length: %d\r\n\r\n%s"
                                                     (length body) body))
                   (setq buf (substring buf (+ start len)))))
               (process-put proc 'buf buf)))))
         (harnesssync-socket path)
         (harnesssync-autostart nil))
    (unwind-protect
        (progn
          (setq hs-test-notes nil)
          (harnesssync-mode 1)
          (hs-test-wait (lambda ()
                          (cl-some (lambda (n)
                                     (string-match-p "speaks protocol 2, but this package speaks protocol 1" n))
                                   hs-test-notes))
                        "the protocol warning")
          (message "ok: protocol warning"))
      (harnesssync-mode -1)
      (delete-process server))))

(ert-deftest harnesssync-test-3-no-daemon ()
  "No daemon and no hsctl: exactly one message, however many retries.
And without hsctl no socket path at all: the package has no rule of its own."
  (let ((harnesssync-socket (expand-file-name "nobody-here.sock" (getenv "HS_TMP")))
        (harnesssync-hsctl-program "/nonexistent/hsctl")
        (harnesssync-autostart t)
        (want (format-message "install the harnesssync package, which provides hsctl and harnesssyncd, \
or set `harnesssync-hsctl-program' to its path")))
    (unwind-protect
        (progn
          (setq hs-test-notes nil)
          (harnesssync-mode 1)
          ;; Back-off retries at 0.1, 0.35, 0.85, 1.85 and 3.85 s.
          (let ((t0 (float-time)))
            (while (< (- (float-time) t0) 4.5) (accept-process-output nil 0.05)))
          (should (equal (harnesssync-indicator) "HS: offline"))
          (should (= 1 (length hs-test-notes)))
          (should (string-match-p "nobody-here.sock" (car hs-test-notes)))
          (should (string-match-p (regexp-quote want) (car hs-test-notes)))
          (message "ok: one message: %s" (car hs-test-notes))
          (should-error (harnesssync-status) :type 'user-error)
          (harnesssync-mode -1)
          ;; No socket setting either: only hsctl could find it.
          (setq hs-test-notes nil harnesssync--socket-path nil)
          (let ((harnesssync-socket nil))
            (harnesssync-mode 1)
            (let ((t0 (float-time)))
              (while (< (- (float-time) t0) 2) (accept-process-output nil 0.05)))
            (should (equal hs-test-notes
                           (list (concat "harnesssync: hsctl was not found (looked for \"/nonexistent/hsctl\"): "
                                         want))))
            (should (null harnesssync--socket-path))
            (message "ok: one message without hsctl: %s" (car hs-test-notes))))
      (harnesssync-mode -1))))

(defun hs-test-warnings ()
  "What `display-warning' wrote in *Warnings* so far."
  (with-current-buffer (get-buffer-create "*Warnings*") (buffer-string)))

(defun hs-test-hsctl-output (&rest args)
  "What hsctl prints on stdout with ARGS."
  (with-temp-buffer
    (apply #'call-process (getenv "HS_HSCTL") nil (list t nil) nil args)
    (buffer-string)))

(defun hs-test-count (regexp string)
  "How many times REGEXP matches in STRING."
  (let ((n 0) (start 0))
    (while (string-match regexp string start)
      (setq n (1+ n) start (match-end 0)))
    n))

(ert-deftest harnesssync-test-4-triggers ()
  "A real trigger: its command prints 13 lines, waits for a gate file, exits 3.
The lighter says syncing while it runs (also after a reconnect in the
middle, from trigger.list, and with the name once a second trigger is
known); its end gives one warning with the output's tail and the lighter
back; `harnesssync-trigger-log' shows the whole output."
  (let* ((tmp (getenv "HS_TMP"))
         (harnesssync-hsctl-program (getenv "HS_HSCTL"))
         (harnesssync-autostart t)
         (harnesssync-socket nil)
         (watched (expand-file-name "watched-emacs" tmp))
         (gate (expand-file-name "gate-emacs" tmp))
         (script (hs-test-script
                  "failing-emacs.sh"
                  "i=1; while [ $i -le 12 ]; do printf 'out-%02d\\n' $i; i=$((i+1)); done"
                  "echo err-final >&2"
                  ;; Waits for the test, not a guessed time (bounded: 60 s).
                  (format "n=0; while [ ! -e %s ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done" gate)
                  "exit 3"))
         (ms 0))
    (make-directory watched t)
    (unwind-protect
        (progn
          (harnesssync-mode 1)
          (hs-test-wait (lambda () (eq (harnesssync-connection-mode) 'live)) "the mode to connect")
          (let ((base (harnesssync-indicator)))
            (should-not (string-match-p "syncing" base))
            (should (eql 0 (hs-test-hsctl "trigger" "set" "failing" "--watch" watched "--settle" "50" "--" script)))
            (with-current-buffer (get-buffer-create "*Warnings*")
              (let ((inhibit-read-only t)) (erase-buffer)))
            (with-temp-file (expand-file-name "edited" watched) (insert "x\n"))
            (setq ms (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS: syncing…"))
                                   "HS: syncing… during the run"))
            (should (string-match-p " HS: syncing…" (hs-test-lighter)))
            (should (equal (harnesssync-running-triggers) '("failing")))
            (message "ok: %S %.0f ms after the edit" (hs-test-lighter) ms)
            ;; A second trigger, then a reconnect while the run goes on:
            ;; trigger.list says it runs, and the name shows now.
            (should (eql 0 (hs-test-hsctl "trigger" "set" "other" "--watch"
                                          (expand-file-name "other-emacs" tmp) "--" "/bin/true")))
            (harnesssync-reconnect)
            (hs-test-wait (lambda () (eq (harnesssync-connection-mode) 'live)) "the mode to reconnect")
            (should (equal (harnesssync-indicator) "HS: syncing failing…"))
            (message "ok: after a reconnect in the run: %S" (harnesssync-indicator))
            (with-temp-file gate (insert ""))
            (hs-test-wait (lambda () (string-match-p "trigger failing failed" (hs-test-warnings)))
                          "the warning of the failed run")
            (hs-test-wait (lambda () (equal (harnesssync-indicator) base)) "the lighter back")
            (let ((w (hs-test-warnings)))
              (should (= 1 (hs-test-count "trigger failing failed" w)))
              (should (string-match-p (regexp-quote "trigger failing failed (exit 3, run 1):\n") w))
              ;; The last 10 lines of stdout then stderr.
              (dotimes (i 9)
                (should (string-match-p (format "\nout-%02d\n" (+ i 4)) w)))
              (should (string-match-p "\nerr-final\n" w))
              (should-not (string-match-p "out-03" w))
              (should (string-match-p "M-x harnesssync-trigger-log" w))
              (message "ok: one warning, lighter back to %S:\n%s" (harnesssync-indicator) w)))
          ;; The whole log, of the trigger that failed last.
          (let ((text (harnesssync-trigger-log)))
            (should (string-match-p "^failing run 1  started .*  exit 3  [0-9]+ ms  [0-9]+ changed$" text))
            (should (string-match-p "^out-01$" text))
            (should (string-match-p "^err-final$" text))
            (should (equal text (with-current-buffer "*harnesssync-trigger-log*" (buffer-string))))
            (message "ok: harnesssync-trigger-log:\n%s" text))
          ;; A coalesced run: the sync lock is held, a coalescing caller
          ;; waits to follow; the trigger's run is covered by it and never
          ;; starts.  Neither the lighter nor a warning may tell of it.
          (let* ((gate2 (expand-file-name "gate2-emacs" tmp))
                 (hsctl (getenv "HS_HSCTL"))
                 (holder (make-process :name "hs-holder" :noquery t :buffer nil
                                       :command (list hsctl "lock" "sync" "--" "sh" "-c"
                                                      (format "while [ ! -e %s ]; do sleep 0.05; done" gate2))))
                 (follower nil)
                 (seen nil)
                 (record (lambda () (push (harnesssync-indicator) seen))))
            ;; Held: held_ms counts (holder_pid is null in the portable build: getpeereid).
            (hs-test-wait (lambda () (string-match-p "\"held_ms\":[1-9]" (hs-test-hsctl-output "--json" "locks")))
                          "the holder to hold lock sync")
            (setq follower (make-process :name "hs-follower" :noquery t :buffer nil
                                         :command (list hsctl "lock" "sync" "--coalesce" "--" "true")))
            (hs-test-wait (lambda () (string-match-p "\"waiting\":1" (hs-test-hsctl-output "--json" "locks")))
                          "the coalescing caller to wait")
            (add-hook 'harnesssync-changed-hook record)
            (unwind-protect
                (progn
                  (with-temp-file (expand-file-name "edited" watched) (insert "again\n"))
                  (hs-test-wait (lambda () (string-match-p "\"coalesced\":true"
                                                           (hs-test-hsctl-output "--json" "trigger" "ls")))
                                "the coalesced run")
                  (with-temp-file gate2 (insert ""))
                  (hs-test-wait (lambda () (not (or (process-live-p holder) (process-live-p follower))))
                                "the holder and the follower to end")
                  (should (equal (list (process-exit-status holder) (process-exit-status follower)) '(0 0)))
                  ;; Run 3 fails at once: its warning comes after run 2's
                  ;; trigger.finished on the same connection.
                  (should (eql 0 (hs-test-hsctl "trigger" "run" "failing")))
                  (hs-test-wait (lambda () (string-match-p "(exit 3, run 3)" (hs-test-warnings)))
                                "the warning of run 3")
                  (should-not (string-match-p "run 2)" (hs-test-warnings)))
                  (let ((flips 0) (prev nil))
                    (dolist (i (reverse seen))
                      (when (and (string-match-p "syncing" i) (not (and prev (string-match-p "syncing" prev))))
                        (setq flips (1+ flips)))
                      (setq prev i))
                    (should (<= flips 1)))
                  (message "ok: a coalesced run neither says syncing nor warns; lighter history %S" (reverse seen)))
              (remove-hook 'harnesssync-changed-hook record))))
      (hs-test-hsctl "trigger" "rm" "failing")
      (hs-test-hsctl "trigger" "rm" "other")
      (harnesssync-mode -1))))

(ert-deftest harnesssync-test-5-resync ()
  "A subscriber that stops reading during a run misses its trigger.finished.
The daemon drops what waits for it and owes it a resync (state.changed
reloaded); the mode then asks trigger.list, so the lighter does not say
syncing for ever."
  (let* ((tmp (getenv "HS_TMP"))
         (harnesssync-hsctl-program (getenv "HS_HSCTL"))
         (harnesssync-autostart t)
         (harnesssync-socket nil)
         (watched (expand-file-name "watched-resync" tmp))
         (gate (expand-file-name "gate-resync" tmp))
         (flood (getenv "HS_FLOOD"))
         (script (hs-test-script
                  "failing-resync.sh"
                  "echo out"
                  (format "n=0; while [ ! -e %s ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done" gate)
                  "exit 3"))
         (reloads 0)
         (proc nil))
    (make-directory watched t)
    (unwind-protect
        (progn
          (harnesssync-mode 1)
          (hs-test-wait (lambda () (eq (harnesssync-connection-mode) 'live)) "the mode to connect")
          (let ((base (harnesssync-indicator))
                (sock (hs-test-socket-path)))
            (should (eql 0 (hs-test-hsctl "trigger" "set" "resync" "--watch" watched "--settle" "50" "--" script)))
            (with-temp-file (expand-file-name "edited" watched) (insert "x\n"))
            (hs-test-wait (lambda () (equal (harnesssync-indicator) "HS: syncing…")) "HS: syncing…")
            ;; Stop reading, fill the connection, let the run end, then
            ;; pile up more than the mailbox holds.
            (setq proc (jsonrpc--process harnesssync--conn))
            (advice-add 'harnesssync--refresh-triggers :before
                        (lambda (&rest _) (setq reloads (1+ reloads))) '((name . hs-test-count-refresh)))
            (stop-process proc)
            (should (eql 0 (call-process "python3" nil nil nil flood sock "fill"
                                         (expand-file-name "bulk" tmp))))
            (with-temp-file gate (insert ""))
            (hs-test-wait (lambda () (string-match-p "\"exit_code\":3"
                                                     (hs-test-hsctl-output "--json" "trigger" "ls")))
                          "the run to end")
            (should (eql 0 (call-process "python3" nil nil nil flood sock "ticks" "300")))
            (should (equal (harnesssync-indicator) "HS: syncing…"))
            (continue-process proc)
            (hs-test-wait (lambda () (equal (harnesssync-indicator) base)) "the lighter back after the resync")
            (should (>= reloads 1))
            (message "ok: after a resync the lighter is %S again (trigger.list asked %d time(s))"
                     (harnesssync-indicator) reloads)))
      (advice-remove 'harnesssync--refresh-triggers 'hs-test-count-refresh)
      (when (and proc (process-live-p proc)) (continue-process proc))
      (hs-test-hsctl "trigger" "rm" "resync")
      (hs-test-hsctl "clear" "bulk")
      (hs-test-hsctl "clear" "tick")
      (harnesssync-mode -1))))

(provide 'harnesssync-test)
;;; harnesssync-test.el ends here
