;;; harnesssync.el --- HarnessSync drift, live, from harnesssyncd -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: tools, convenience
;; URL: https://github.com/harnesssync/harnesssync

;;; Commentary:

;; HarnessSync syncs one configuration to several AI coding harnesses
;; (codex, gemini, opencode, ...) and records the hashes of the files it
;; wrote.  `harnesssync-mode' shows in the mode line whether those files
;; changed since ("drift"): " HS ✓" or " HS: 2 drifted (codex)", updated
;; within a second of a change, from the notifications of the per-user
;; daemon harnesssyncd (state.subscribe).  A visited file that drifted gets
;; a header line.  Commands: `harnesssync-status', `harnesssync-drift',
;; `harnesssync-accept', `harnesssync-sync', `harnesssync-trigger-log',
;; `harnesssync-reconnect'.
;;
;; The daemon's triggers (`hsctl trigger set', or `hsctl harnesssync
;; setup' for HarnessSync's auto-sync) show too: while a run is in
;; progress the lighter reads " HS: syncing…" (with the trigger names
;; when more than one trigger is known), and a run that fails (a non-zero
;; exit, a signal, its timeout) gives one warning with the last 10 lines
;; of its output; `harnesssync-trigger-log' shows its whole log.  The mode
;; subscribes with "triggers": true, matches trigger.started to
;; trigger.finished by name and run, and asks trigger.list on connecting,
;; so a run already in progress shows as syncing.  A coalesced run (a
;; `hsctl lock sync --coalesce' caller already waiting covers it) starts
;; nothing and changes nothing shown.
;;
;; The connection is Emacs' own jsonrpc.el over the daemon's Unix socket,
;; with the LSP framing (Content-Length) that jsonrpc.el speaks and the
;; daemon accepts.  The socket is what `hsctl socket-path' prints (or
;; `harnesssync-socket'): the rule lives in hsctl alone, so hsctl is
;; needed.  When nothing answers, `hsctl ping' starts the daemon
;; (unless `harnesssync-autostart' is nil); when the daemon goes away, the
;; mode reconnects with back-off.
;;
;;   (require 'harnesssync)
;;   (harnesssync-mode 1)

;;; Code:

(require 'cl-lib)
(require 'eieio)
(require 'jsonrpc)
(require 'subr-x)

(defgroup harnesssync nil
  "HarnessSync drift, live, from harnesssyncd."
  :group 'tools
  :prefix "harnesssync-")

(defcustom harnesssync-socket nil
  "The daemon's socket path, or nil for what `hsctl socket-path' prints."
  :type '(choice (const :tag "hsctl socket-path" nil) file))

(defcustom harnesssync-state-dir nil
  "The state dir to serve, or nil for $HARNESSSYNC_HOME or ~/.harnesssync.
When set (or $HARNESSSYNC_HOME is), the daemon reached must serve it."
  :type '(choice (const :tag "default" nil) directory))

(defcustom harnesssync-account nil
  "A layout 2 account, or nil for the top-level targets."
  :type '(choice (const :tag "top level" nil) string))

(defcustom harnesssync-hsctl-program "hsctl"
  "The hsctl program: a name looked up in `exec-path', or a path."
  :type 'string)

(defcustom harnesssync-autostart t
  "When non-nil, start the daemon with `hsctl ping' if nothing answers."
  :type 'boolean)

(defcustom harnesssync-sync-command nil
  "What `harnesssync-sync' runs: a shell command string, or a list of args."
  :type '(choice (const :tag "none" nil) string (repeat string)))

(defcustom harnesssync-sync-lock t
  "When non-nil, run the sync command under `hsctl lock sync --coalesce'."
  :type 'boolean)

(defcustom harnesssync-targets nil
  "The targets to watch, or nil for all of them."
  :type '(repeat string))

(defcustom harnesssync-events-log-size 0
  "How many characters of JSON-RPC traffic jsonrpc.el keeps; 0 keeps none.
The log is the buffer `*harnesssync events*'; nil keeps everything."
  :type '(choice (const :tag "everything" nil) integer))

(defcustom harnesssync-header-line t
  "When non-nil, a visited file that drifted gets a header line."
  :type 'boolean)

(defvar harnesssync-mode)

(defvar harnesssync-changed-hook nil
  "Run whenever the drift shown changes.")

(defconst harnesssync--protocol 1 "The protocol version this package speaks.")

(defconst harnesssync--backoff '(0.1 0.25 0.5 1 2 5 10)
  "Seconds between reconnect attempts; the last one repeats.")

(defvar harnesssync--conn nil "The jsonrpc connection, or nil.")
(defvar harnesssync--connected nil "Non-nil once connected and subscribed.")
(defvar harnesssync--drift (make-hash-table :test #'equal)
  "Target name -> (CHANGED REMOVED ERRORS), lists of paths and errors.
Each state.drifted replaces a target's entry as a whole.")
(defvar harnesssync--attempt 0 "Reconnect attempts in this outage.")
(defvar harnesssync--reported nil "A problem was reported in this outage.")
(defvar harnesssync--timer nil "The reconnect timer.")
(defvar harnesssync--socket-path nil "The socket path last tried.")
(defvar harnesssync--spawn nil "The running `hsctl ping' process, or nil.")
(defvar harnesssync--runs (make-hash-table :test #'equal)
  "Trigger name -> the run numbers started and not finished yet.
A list, not one number: a trigger replaced by trigger.set counts again
from 1 while its old run still finishes, and each finish ends its own.")
(defvar harnesssync--triggers (make-hash-table :test #'equal)
  "Every trigger name seen (trigger.list or a notification) -> t.")
(defvar harnesssync--last-failed-trigger nil
  "The trigger whose run failed last: `harnesssync-trigger-log' shows it.")

(defconst harnesssync--tail-lines 10 "Lines of a failed run's output in its warning.")
(defconst harnesssync--tail-bytes 2048 "At most this many bytes of them.")

(defvar-local harnesssync--header nil
  "Non-nil when this buffer shows the drift header line.")
(defvar-local harnesssync--saved-header nil
  "The `header-line-format' this buffer had before ours.")
(defvar-local harnesssync--announced nil
  "The targets last announced as drifted for this buffer.")

(defun harnesssync--notify (format-string &rest args)
  "Tell the user FORMAT-STRING with ARGS, in the echo area."
  (message "%s" (apply #'format-message format-string args)))

(defun harnesssync--problem (format-string &rest args)
  "Report FORMAT-STRING with ARGS once per outage."
  (unless harnesssync--reported
    (setq harnesssync--reported t)
    (apply #'harnesssync--notify format-string args)))

;;;; Finding the socket

(defun harnesssync--hsctl ()
  "The hsctl executable, or nil."
  (let ((p harnesssync-hsctl-program))
    (if (file-name-directory p)
        (and (file-executable-p p) (not (file-directory-p p)) p)
      (executable-find p))))

(defun harnesssync--hsctl-args (&rest args)
  "Global hsctl options from the settings, followed by ARGS."
  (append (and harnesssync-socket (list "--socket" (expand-file-name harnesssync-socket)))
          (and harnesssync-state-dir
               (list "--state-dir" (expand-file-name harnesssync-state-dir)))
          args))

(defun harnesssync--no-hsctl-message ()
  "What to say when there is no hsctl: the one thing to install."
  (format-message "harnesssync: hsctl was not found (looked for %S): install the harnesssync \
package, which provides hsctl and harnesssyncd, or set `harnesssync-hsctl-program' to its path"
                  harnesssync-hsctl-program))

(defun harnesssync--resolve-socket ()
  "The socket path: the setting, else what `hsctl socket-path' prints.
Signals `user-error' when there is no hsctl to ask, or it fails."
  (cond
   (harnesssync-socket (expand-file-name harnesssync-socket))
   ((harnesssync--hsctl)
    (with-temp-buffer
      (let ((status (apply #'call-process (harnesssync--hsctl) nil (list t nil) nil
                           (harnesssync--hsctl-args "socket-path"))))
        (unless (eql status 0)
          (user-error "harnesssync: hsctl socket-path failed (exit %s)" status))
        (string-trim (buffer-string)))))
   (t (user-error "%s" (harnesssync--no-hsctl-message)))))

;;;; Connecting, with back-off and autostart

(defun harnesssync--schedule-retry ()
  "Try to connect again after the next back-off delay."
  (when harnesssync-mode
    (setq harnesssync--attempt (1+ harnesssync--attempt))
    (when (timerp harnesssync--timer) (cancel-timer harnesssync--timer))
    (setq harnesssync--timer
          (run-at-time (nth (min (1- harnesssync--attempt) (1- (length harnesssync--backoff)))
                            harnesssync--backoff)
                       nil #'harnesssync--connect))))

(defun harnesssync--connect (&optional after-spawn)
  "Connect to the daemon once; on refusal start it, or retry later.
AFTER-SPAWN is non-nil right after `hsctl ping' succeeded."
  (setq harnesssync--timer nil)
  (unless (or (not harnesssync-mode) harnesssync--spawn
              (and harnesssync--conn (jsonrpc-running-p harnesssync--conn)))
    (let ((path (condition-case err (harnesssync--resolve-socket)
                  (user-error (harnesssync--problem "%s" (error-message-string err)) nil))))
      (if (not path)
          (harnesssync--schedule-retry)
        (setq harnesssync--socket-path path)
        (let ((proc (condition-case err
                        (make-network-process :name "harnesssync" :family 'local
                                              :service path :coding 'binary :noquery t)
                      (file-error (harnesssync--refused
                                   path (if (stringp (nth 2 err)) (nth 2 err) (error-message-string err))
                                   after-spawn)
                                  nil))))
          (when proc (harnesssync--connected proc)))))))

(defun harnesssync--refused (path reason after-spawn)
  "Nothing answers at PATH (REASON): start the daemon, or report and retry.
AFTER-SPAWN is non-nil when `hsctl ping' just ran."
  (let ((hsctl (harnesssync--hsctl)))
    (cond
     ((and harnesssync-autostart hsctl (not after-spawn))
      (harnesssync--spawn-daemon hsctl))
     ((and harnesssync-autostart (not hsctl))
      (harnesssync--problem
       "harnesssync: no daemon answers at %s (%s), and it cannot be started: %s.  Retrying quietly."
       path reason (string-remove-prefix "harnesssync: " (harnesssync--no-hsctl-message)))
      (harnesssync--schedule-retry))
     (t
      (harnesssync--problem "harnesssync: no daemon answers at %s (%s); retrying quietly."
                            path reason)
      (harnesssync--schedule-retry)))))

(defun harnesssync--spawn-daemon (hsctl)
  "Run HSCTL ping, which starts the daemon safely, then connect."
  (let ((out (generate-new-buffer " *harnesssync hsctl*")))
    (setq harnesssync--spawn
          (make-process
           :name "harnesssync-hsctl" :buffer out :noquery t :connection-type 'pipe
           :command (cons hsctl (harnesssync--hsctl-args "ping"))
           :sentinel
           (lambda (proc _event)
             (unless (process-live-p proc)
               (setq harnesssync--spawn nil)
               (let ((code (process-exit-status proc))
                     (text (with-current-buffer (process-buffer proc)
                             (string-trim (buffer-string)))))
                 (kill-buffer (process-buffer proc))
                 (if (eql code 0)
                     (harnesssync--connect t)
                   (harnesssync--problem
                    "harnesssync: hsctl ping could not start the daemon (exit %d): %s" code text)
                   (harnesssync--schedule-retry)))))))))

(defun harnesssync--connected (proc)
  "Wrap PROC in a jsonrpc connection, check the daemon and subscribe."
  (let ((conn (make-instance 'jsonrpc-process-connection
                             :name "harnesssync" :process proc
                             :events-buffer-scrollback-size harnesssync-events-log-size
                             :notification-dispatcher #'harnesssync--on-notification
                             :on-shutdown #'harnesssync--on-shutdown)))
    (setq harnesssync--conn conn
          harnesssync--attempt 0
          harnesssync--reported nil)
    (clrhash harnesssync--drift)
    (harnesssync--clear-triggers)
    (jsonrpc-async-request
     conn 'daemon.info nil
     :success-fn (lambda (info) (harnesssync--on-info conn info))
     :error-fn (lambda (err)
                 (harnesssync--notify "harnesssync: daemon.info failed: %s"
                                      (plist-get err :message))))))

(defun harnesssync--named-state-dir ()
  "The state dir the user named, or nil."
  (let ((d (or harnesssync-state-dir
               (and (not harnesssync-socket)
                    (let ((h (getenv "HARNESSSYNC_HOME")))
                      (and h (not (string-empty-p h)) h))))))
    (and d (directory-file-name (expand-file-name d)))))

(defun harnesssync--on-info (conn info)
  "Check daemon.info INFO from CONN, then subscribe."
  (let ((protocol (plist-get info :protocol))
        (state-file (plist-get info :state_file))
        (want (harnesssync--named-state-dir)))
    (unless (eql protocol harnesssync--protocol)
      (harnesssync--notify
       "harnesssync: the daemon at %s speaks protocol %s, but this package speaks protocol %d.  \
What it shows may be wrong or missing: install matching versions (or run `hsctl shutdown' \
so the next start runs the installed daemon)."
       harnesssync--socket-path protocol harnesssync--protocol))
    (if (and want (stringp state-file)
             (not (equal (file-truename state-file)
                         (file-truename (expand-file-name "state.json" want)))))
        (progn
          (harnesssync--notify "harnesssync: harnesssyncd at %s serves %s, not %s/state.json"
                               harnesssync--socket-path state-file want)
          (harnesssync-mode -1))
      (jsonrpc-async-request
       conn 'state.subscribe (harnesssync--params :triggers t)
       :success-fn (lambda (_r)
                     ;; Live once the runs in progress are known, so that
                     ;; a reconnect during a run does not show the drift
                     ;; for a moment.
                     (harnesssync--refresh-triggers
                      conn (lambda () (setq harnesssync--connected t))))
       :error-fn (lambda (err)
                   (harnesssync--notify "harnesssync: state.subscribe failed: %s"
                                        (plist-get err :message)))))))

(defun harnesssync--params (&rest plist)
  "PLIST with the account and target settings added; nil when empty.
The targets setting is added only to a subscription (PLIST without :target)."
  (let ((p (append plist
                   (and harnesssync-account (list :account harnesssync-account))
                   (and harnesssync-targets (not (plist-member plist :target))
                        (list :targets (vconcat harnesssync-targets))))))
    p))

(defun harnesssync--on-shutdown (conn)
  "CONN died: show offline and reconnect with back-off."
  (when (eq conn harnesssync--conn)
    (setq harnesssync--conn nil
          harnesssync--connected nil)
    (clrhash harnesssync--drift)
    (harnesssync--clear-triggers)
    (harnesssync--changed)
    (harnesssync--schedule-retry)))

;;;; The drift model

(defun harnesssync--list (v)
  "V (a JSON array, as a vector) as a list."
  (and (vectorp v) (append v nil)))

(defun harnesssync--set-drift (target changed removed errors)
  "Replace TARGET's drift with CHANGED, REMOVED and ERRORS."
  (if (or changed removed errors)
      (puthash target (list changed removed errors) harnesssync--drift)
    (remhash target harnesssync--drift)))

(defun harnesssync--on-notification (_conn method params)
  "Handle the daemon's notification METHOD with PARAMS."
  (pcase method
    ('state.drifted
     (let ((target (plist-get params :target)))
       (when (stringp target)
         (harnesssync--set-drift target
                                 (harnesssync--list (plist-get params :changed))
                                 (harnesssync--list (plist-get params :removed))
                                 (harnesssync--list (plist-get params :errors)))
         (harnesssync--changed))))
    ('state.changed
     (let ((target (plist-get params :target)))
       (cond
        ((and (equal (plist-get params :kind) "cleared") (stringp target))
         (remhash target harnesssync--drift)
         (harnesssync--changed))
        ((and (equal (plist-get params :kind) "reloaded") (null target) harnesssync--conn)
         ;; A resync: trigger notifications may have been dropped too.
         (harnesssync--refresh-triggers harnesssync--conn)))))
    ('trigger.started
     (when (harnesssync--trigger-started params)
       (harnesssync--changed)))
    ('trigger.finished
     (let ((ended (harnesssync--trigger-finished params)))
       (when (harnesssync--trigger-failed-p params)
         (harnesssync--trigger-warn params))
       (when ended
         (harnesssync--changed))))))

;;;; Trigger runs

(defun harnesssync--clear-triggers ()
  "Forget every trigger run and name."
  (clrhash harnesssync--runs)
  (clrhash harnesssync--triggers))

(defun harnesssync--run-params-p (params)
  "Non-nil when PARAMS name a trigger and a run."
  (and (stringp (plist-get params :name)) (integerp (plist-get params :run))))

(defun harnesssync--trigger-started (params)
  "Note the run of trigger.started PARAMS; non-nil when what is shown changed."
  (when (harnesssync--run-params-p params)
    (let ((name (plist-get params :name)))
      (puthash name t harnesssync--triggers)
      (cl-pushnew (plist-get params :run) (gethash name harnesssync--runs))
      t)))

(defun harnesssync--trigger-finished (params)
  "End the run of trigger.finished PARAMS; non-nil when what is shown changed.
A coalesced run had no trigger.started and ends nothing."
  (when (harnesssync--run-params-p params)
    (let* ((name (plist-get params :name))
           (run (plist-get params :run))
           (runs (gethash name harnesssync--runs)))
      (puthash name t harnesssync--triggers)
      (when (and (not (eq (plist-get params :coalesced) t)) (memql run runs))
        (if (cdr runs)
            (puthash name (delq run runs) harnesssync--runs)
          (remhash name harnesssync--runs))
        t))))

(defun harnesssync--reset-triggers (list)
  "Replace what is known of trigger runs with the trigger.list answer LIST.
A running trigger's run in progress is its `runs': the count includes it."
  (harnesssync--clear-triggers)
  (dolist (tr (and (vectorp list) (append list nil)))
    (let ((name (plist-get tr :name)) (runs (plist-get tr :runs)))
      (when (stringp name)
        (puthash name t harnesssync--triggers)
        (when (and (equal (plist-get tr :state) "running") (integerp runs))
          (puthash name (list runs) harnesssync--runs))))))

(defun harnesssync--refresh-triggers (conn &optional after)
  "Ask CONN for trigger.list and take its runs in progress; then call AFTER.
Asked on connecting, so that a run already in progress shows, and after a
resync.  AFTER runs even when trigger.list fails (a daemon without it)."
  (let ((done (lambda ()
                (when (eq conn harnesssync--conn)
                  (when after (funcall after))
                  (harnesssync--changed)))))
    (jsonrpc-async-request
     conn 'trigger.list nil
     :success-fn (lambda (list)
                   (when (eq conn harnesssync--conn)
                     (harnesssync--reset-triggers list))
                   (funcall done))
     :error-fn (lambda (_err) (funcall done)))))

(defun harnesssync-running-triggers ()
  "The names of the triggers running now, sorted."
  (sort (hash-table-keys harnesssync--runs) #'string<))

(defun harnesssync--syncing-text ()
  "\"HS: syncing…\", with the names when another trigger is known; or nil."
  (let ((names (harnesssync-running-triggers)))
    (cond ((null names) nil)
          ((and (null (cdr names)) (<= (hash-table-count harnesssync--triggers) 1))
           "HS: syncing…")
          (t (format "HS: syncing %s…" (string-join names ", "))))))

(defun harnesssync--trigger-failed-p (params)
  "Non-nil when trigger.finished PARAMS is a failure.
A non-zero exit, a signal or the timeout; a coalesced run ran nothing."
  (and (harnesssync--run-params-p params)
       (not (eq (plist-get params :coalesced) t))
       (let ((code (plist-get params :exit_code)))
         (or (and (integerp code) (/= code 0))
             (integerp (plist-get params :signal))
             (eq (plist-get params :timed_out) t)))))

(defun harnesssync--trigger-how (params)
  "How the run of PARAMS ended: \"exit 3\", \"killed by signal 9\", \"timed out\"."
  (let ((signal (plist-get params :signal)))
    (cond ((eq (plist-get params :timed_out) t)
           (if (integerp signal) (format "timed out (signal %d)" signal) "timed out"))
          ((integerp signal) (format "killed by signal %d" signal))
          (t (format "exit %s" (plist-get params :exit_code))))))

(defun harnesssync--trigger-tail (output)
  "The last lines of OUTPUT (a plist of :stdout and :stderr), stdout first.
At most `harnesssync--tail-lines' lines and `harnesssync--tail-bytes'
bytes.  The daemon keeps the streams apart, so their interleaving is
lost; stderr goes last, where a failing command's last words usually are."
  (let* ((lines (append (split-string (or (plist-get output :stdout) "") "\n" t)
                        (split-string (or (plist-get output :stderr) "") "\n" t)))
         (lines (last lines harnesssync--tail-lines))
         (kept nil) (bytes 0))
    (catch 'full
      (dolist (l (reverse lines))
        (let ((n (string-bytes l)))
          (when (> (+ bytes n 1) harnesssync--tail-bytes)
            (unless kept
              ;; One long line: its end.
              (push (substring l (- (min (length l) (1- harnesssync--tail-bytes)))) kept))
            (throw 'full nil))
          (push l kept)
          (setq bytes (+ bytes n 1)))))
    (string-join kept "\n")))

(defun harnesssync--trigger-warn (params)
  "One warning for the failed run of trigger.finished PARAMS, with its tail."
  (let ((name (plist-get params :name))
        (tail (harnesssync--trigger-tail (plist-get params :output_tail))))
    (setq harnesssync--last-failed-trigger name)
    (display-warning
     'harnesssync
     (format-message "trigger %s failed (%s, run %d)%s\n(M-x harnesssync-trigger-log shows the whole log)"
                     name (harnesssync--trigger-how params) (plist-get params :run)
                     (if (string-empty-p tail) "" (concat ":\n" tail)))
     :warning)))

(defun harnesssync--summary ()
  "The drifted targets, sorted, and the number of drifted files."
  (let ((names nil) (count 0))
    (maphash (lambda (target d)
               (let ((n (+ (length (nth 0 d)) (length (nth 1 d)))))
                 (when (> n 0)
                   (push target names)
                   (setq count (+ count n)))))
             harnesssync--drift)
    (list (sort names #'string<) count)))

(defun harnesssync-indicator ()
  "The indicator text: \"HS ✓\", \"HS: 2 drifted (codex)\", \"HS: syncing…\"
\(a trigger runs) or \"HS: offline\"."
  (if (not harnesssync--connected)
      "HS: offline"
    (or (harnesssync--syncing-text)
        (pcase-let ((`(,names ,count) (harnesssync--summary)))
          (if (zerop count)
              "HS ✓"
            (format "HS: %d drifted (%s)" count (string-join names ", ")))))))

(defun harnesssync-connection-mode ()
  "`live' (subscribed) or `offline'."
  (if harnesssync--connected 'live 'offline))

(defun harnesssync--lighter ()
  "The mode-line lighter."
  (concat " " (harnesssync-indicator)))

(defun harnesssync--file-key (file)
  "FILE as a key to compare paths: absolute, symlinks resolved."
  (file-truename (expand-file-name file)))

(defun harnesssync--drifted-files ()
  "A hash table: file key -> list of (TARGET KIND PATH)."
  (let ((files (make-hash-table :test #'equal)))
    (maphash (lambda (target d)
               (dolist (p (nth 0 d))
                 (push (list target "changed" p) (gethash (harnesssync--file-key p) files)))
               (dolist (p (nth 1 d))
                 (push (list target "removed" p) (gethash (harnesssync--file-key p) files))))
             harnesssync--drift)
    files))

(defun harnesssync--buffer-drift (&optional buffer files)
  "The drift entries (TARGET KIND PATH) of BUFFER's file, or nil.
FILES is `harnesssync--drifted-files', computed when nil."
  (let ((file (buffer-file-name buffer)))
    (and file (gethash (harnesssync--file-key file)
                       (or files (harnesssync--drifted-files))))))

(defun harnesssync--update-buffer (buffer files)
  "Show or hide BUFFER's drift header line, given FILES."
  (with-current-buffer buffer
    (let* ((hits (harnesssync--buffer-drift buffer files))
           (targets (sort (delete-dups (mapcar #'car hits)) #'string<))
           (key (string-join targets ", ")))
      (if (and hits harnesssync-mode)
          (progn
            (when harnesssync-header-line
              (unless harnesssync--header
                (setq harnesssync--saved-header header-line-format))
              (setq harnesssync--header t)
              (setq header-line-format
                    (format " HarnessSync: this file drifted from the last sync of %s  \
(M-x harnesssync-accept)" key)))
            (unless (equal harnesssync--announced key)
              (setq harnesssync--announced key)
              (harnesssync--notify "harnesssync: %s drifted since the sync of %s (M-x harnesssync-accept)"
                                   (file-name-nondirectory (buffer-file-name)) key)))
        (setq harnesssync--announced nil)
        (when harnesssync--header
          (setq header-line-format harnesssync--saved-header
                harnesssync--header nil
                harnesssync--saved-header nil))))))

(defun harnesssync--update-buffers ()
  "Update the header line of every buffer visiting a file."
  (let ((files (harnesssync--drifted-files)))
    (dolist (b (buffer-list))
      (when (buffer-file-name b)
        (harnesssync--update-buffer b files)))))

(defun harnesssync--changed ()
  "The drift model changed: update buffers and the mode line."
  (harnesssync--update-buffers)
  (force-mode-line-update t)
  (run-hooks 'harnesssync-changed-hook))

(defun harnesssync--visit-hook ()
  "Show the header line when a drifted file is visited or saved."
  (when (and harnesssync-mode (buffer-file-name))
    (harnesssync--update-buffer (current-buffer) (harnesssync--drifted-files))))

;;;; Waiting for an answer

(defun harnesssync--request (conn method params &optional timeout)
  "Send METHOD with PARAMS on CONN and wait for the answer; return the result.
Signals `jsonrpc-error' with the daemon's error.  Not `jsonrpc-request':
in jsonrpc.el 1.0.14 (Emacs 28) it leaves the process filter by a `throw'
from inside it, so notifications that arrived in the same read as the
answer (state.changed and state.drifted right after a state.accept) wait
unprocessed until the daemon next sends something.  Here the answer only
sets a flag, and the filter finishes its read."
  (let* ((timeout (or timeout 10))
         (deadline (+ (float-time) timeout))
         (done nil) (result nil) (err nil))
    (jsonrpc-async-request
     conn method params
     :timeout timeout
     :success-fn (lambda (r) (setq done t result r))
     :error-fn (lambda (e) (setq done t err e))
     :timeout-fn (lambda () (setq done t err '(:code -1 :message "no answer in time"))))
    (while (and (not done) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless done
      (setq err '(:code -1 :message "no answer in time")))
    (when err
      (signal 'jsonrpc-error
              (list (format "%s failed" method)
                    (cons 'jsonrpc-error-code (plist-get err :code))
                    (cons 'jsonrpc-error-message (plist-get err :message))
                    (cons 'jsonrpc-error-data (plist-get err :data)))))
    result))

;;;; The state document

(defun harnesssync--scope (doc)
  "The targets' scope of the state document DOC (top level or account)."
  (if harnesssync-account
      (plist-get (plist-get doc :accounts) (intern (concat ":" harnesssync-account)))
    doc))

(defun harnesssync--target-names (doc)
  "The target names in the state document DOC."
  (let ((targets (plist-get (harnesssync--scope doc) :targets)))
    (cl-loop for (k _v) on targets by #'cddr
             for name = (substring (symbol-name k) 1)
             when (or (null harnesssync-targets) (member name harnesssync-targets))
             collect name)))

;;;; Commands

(defun harnesssync--call (method &optional params)
  "Call METHOD with PARAMS and return the result; `user-error' on failure."
  (unless (and harnesssync--conn (jsonrpc-running-p harnesssync--conn))
    (unless harnesssync-mode (harnesssync-mode 1))
    (user-error "harnesssync: not connected to harnesssyncd%s"
                (if harnesssync--socket-path (format " at %s" harnesssync--socket-path) "")))
  (condition-case err
      (harnesssync--request harnesssync--conn method params)
    (jsonrpc-error
     (user-error "harnesssync: %s: %s" method
                 (or (alist-get 'jsonrpc-error-message (cdr err)) (cadr err))))))

(defun harnesssync--str (v)
  "V as text for a table cell."
  (cond ((stringp v) v) ((numberp v) (number-to-string v)) (t "")))

;;;###autoload
(defun harnesssync-status ()
  "Show every target as `hsctl status' does, in *harnesssync-status*.
Returns the text."
  (interactive)
  (let* ((doc (harnesssync--call 'state.all))
         (scope (harnesssync--scope doc))
         (targets (plist-get scope :targets))
         (names (sort (harnesssync--target-names doc) #'string<))
         (lines (list (format "last sync: %s"
                              (or (plist-get scope :last_sync) "never")))))
    (when names
      (push (format "%-16s %-8s %-26s %7s %7s  %s"
                    "TARGET" "STATUS" "LAST SYNC" "SYNCED" "FAILED" "DRIFT")
            lines))
    (dolist (name names)
      (let* ((e (plist-get targets (intern (concat ":" name))))
             (e (and (consp e) e))
             (d (harnesssync--call 'state.drift (harnesssync--params :target name)))
             (n (length (plist-get d :drifted))))
        (push (format "%-16s %-8s %-26s %7s %7s  %s" name
                      (harnesssync--str (plist-get e :status))
                      (harnesssync--str (plist-get e :last_sync))
                      (harnesssync--str (plist-get e :items_synced))
                      (harnesssync--str (plist-get e :items_failed))
                      (cond ((zerop n) "none") ((= n 1) "1 file") (t (format "%d files" n))))
              lines)))
    (dolist (usual '("codex" "gemini" "opencode"))
      (unless (plist-member targets (intern (concat ":" usual)))
        (push (format "%-16s never synced" usual) lines)))
    (let ((text (concat (string-join (nreverse lines) "\n") "\n")))
      (with-current-buffer (get-buffer-create "*harnesssync-status*")
        (let ((inhibit-read-only t))
          (erase-buffer)
          (insert text))
        (special-mode))
      (when (called-interactively-p 'any)
        (display-buffer "*harnesssync-status*"))
      text)))

(defun harnesssync--drifted-targets ()
  "The drifted targets, sorted."
  (car (harnesssync--summary)))

(defun harnesssync--read-target (prompt)
  "Read a target with PROMPT, defaulting to the buffer's or the only one."
  (let* ((here (mapcar #'car (harnesssync--buffer-drift)))
         (drifted (harnesssync--drifted-targets))
         (default (or (car here) (car drifted))))
    (completing-read (format-prompt prompt default) drifted nil nil nil nil default)))

(defvar harnesssync-drift-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "g") #'revert-buffer)
    map)
  "Keymap for `harnesssync-drift-mode'.")

(define-derived-mode harnesssync-drift-mode special-mode "HS-Drift"
  "The drifted files of a target.  RET on a file opens it; g refreshes.")

(defun harnesssync--visit-button (button)
  "Open the file of BUTTON."
  (find-file (button-get button 'harnesssync-path)))

;;;###autoload
(defun harnesssync-drift (&optional target)
  "List the drifted files of TARGET in *harnesssync-drift*; RET opens one.
Without TARGET, every drifted target.  Returns the listed paths."
  (interactive (list (harnesssync--read-target "Drift of target")))
  (let* ((targets (if (and target (not (string-empty-p target)))
                      (list target)
                    (harnesssync--drifted-targets)))
         (paths nil)
         (buf (get-buffer-create "*harnesssync-drift*")))
    (with-current-buffer buf
      (let ((inhibit-read-only t))
        (erase-buffer)
        (harnesssync-drift-mode)
        (if (null targets)
            (insert "Nothing drifted.\n")
          (dolist (tg targets)
            (let ((d (harnesssync--call 'state.drift (harnesssync--params :target tg))))
              (insert (propertize (format "%s%s\n" tg (if (eq (plist-get d :tracked) :json-false)
                                                          " (no sync record)" ""))
                                  'face 'bold))
              (dolist (kind '(:changed :added :removed))
                (dolist (p (harnesssync--list (plist-get d kind)))
                  (push p paths)
                  (insert (format "  %-8s " (substring (symbol-name kind) 1)))
                  (insert-text-button (abbreviate-file-name p) 'harnesssync-path p
                                      'action #'harnesssync--visit-button
                                      'help-echo "RET: open this file")
                  (insert "\n")))
              (dolist (e (harnesssync--list (plist-get d :errors)))
                (insert (format "  %-8s %s (%s)\n" "error" (plist-get e :path)
                                (plist-get e :reason))))
              (insert "\n"))))
        (setq-local revert-buffer-function
                    (lambda (&rest _) (harnesssync-drift target)))
        (goto-char (point-min))
        (ignore-errors (forward-button 1))))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    (nreverse paths)))

;;;###autoload
(defun harnesssync-accept (&optional target paths)
  "Take drifted PATHS of TARGET as they are now as the new baseline.
Interactively: the visited file when it drifted, else every drifted
file of the target; with a prefix argument, read target and file.
Returns the state.accept result."
  (interactive
   (let* ((target (if (or current-prefix-arg
                          (/= 1 (length (or (harnesssync--buffer-drift)
                                            (harnesssync--drifted-targets)))))
                      (harnesssync--read-target "Accept for target")
                    (car (or (car (harnesssync--buffer-drift))
                             (harnesssync--drifted-targets))))))
     (list target
           (and current-prefix-arg
                (list (expand-file-name (read-file-name "Accept file: ")))))))
  (unless (and target (not (string-empty-p target)))
    (setq target (let ((here (car (harnesssync--buffer-drift)))
                       (drifted (harnesssync--drifted-targets)))
                   (cond (here (car here))
                         ((= 1 (length drifted)) (car drifted))
                         ((null drifted) (user-error "harnesssync: nothing drifted"))
                         (t (user-error "harnesssync: several targets drifted (%s); name one"
                                        (string-join drifted ", ")))))))
  (unless paths
    (setq paths (or (cl-loop for (tg _kind p) in (harnesssync--buffer-drift)
                             when (equal tg target) collect p)
                    (let ((d (gethash target harnesssync--drift)))
                      (append (nth 0 d) (nth 1 d))))))
  (unless paths
    (user-error "harnesssync: %s: nothing to accept" target))
  (let ((r (harnesssync--call 'state.accept
                              (harnesssync--params :target target :paths (vconcat paths)))))
    (harnesssync--notify "harnesssync: %s: accepted %d file(s), forgot %d removed" target
                         (length (plist-get r :updated)) (length (plist-get r :removed)))
    r))

;;;###autoload
(defun harnesssync-sync (&optional on-exit)
  "Run `harnesssync-sync-command' under `hsctl --json lock sync --coalesce'.
ON-EXIT, when given, is called with the exit code, the message, and (when
it takes a third argument) the outcome: hsctl's --json object as a plist
\(nil without the lock)."
  (interactive)
  (let* ((cmd harnesssync-sync-command)
         (cmd (cond ((null cmd) (user-error "harnesssync: set `harnesssync-sync-command' first"))
                    ((stringp cmd) (list shell-file-name shell-command-switch cmd))
                    (t cmd)))
         (hsctl (and harnesssync-sync-lock
                     (or (harnesssync--hsctl)
                         (user-error "%s (the sync lock needs it; or set `harnesssync-sync-lock' to nil)"
                                     (harnesssync--no-hsctl-message)))))
         (argv (if hsctl
                   (append (list hsctl "--json") (harnesssync--hsctl-args "lock" "sync" "--coalesce" "--") cmd)
                 cmd))
         (out (generate-new-buffer " *harnesssync sync*"))
         (err (generate-new-buffer " *harnesssync sync stderr*")))
    (make-process
     :name "harnesssync-sync" :buffer out :stderr err :noquery t :connection-type 'pipe :command argv
     :sentinel
     (lambda (proc _event)
       (unless (process-live-p proc)
         ;; stderr comes through a pipe process of its own: read it to its end.
         (let ((errproc (get-buffer-process err)))
           (while (and errproc (process-live-p errproc))
             (accept-process-output errproc 0.05)))
         (let* ((code (process-exit-status proc))
                ;; Under the lock, hsctl's stdout is its one --json object.
                (outcome (and hsctl
                              (with-current-buffer (process-buffer proc)
                                (ignore-errors
                                  (json-parse-string (buffer-string) :object-type 'plist
                                                     :null-object nil :false-object nil)))))
                (lines (with-current-buffer err (split-string (buffer-string) "\n" t)))
                (last (or (car (last lines)) ""))
                (holder (let ((pid (plist-get outcome :holder_pid)))
                          (if (integerp pid) (format "pid %d" pid) "a process of unknown pid")))
                (msg (cond ((plist-get outcome :coalesced)
                            (format "harnesssync: the sync already waiting covers this one (lock %s is held by %s)"
                                    (plist-get outcome :name) holder))
                           ((eql code 0) "harnesssync: sync finished")
                           ((and outcome (not (plist-get outcome :acquired)))
                            (format "harnesssync: a sync is already running (held by %s)" holder))
                           (t (format "harnesssync: sync failed (exit %d)%s" code
                                      (if (string-empty-p last) "" (concat ": " last)))))))
           (kill-buffer (process-buffer proc))
           (kill-buffer err)
           (harnesssync--notify "%s" msg)
           (when on-exit
             ;; An ON-EXIT of two arguments (before the outcome) still works.
             (if (memq (cdr (func-arity on-exit)) '(0 1 2))
                 (funcall on-exit code msg)
               (funcall on-exit code msg outcome)))))))))

;;;###autoload
(defun harnesssync-trigger-log (&optional name)
  "Show trigger NAME's last 10 runs and their whole output (trigger.log).
In *harnesssync-trigger-log*; `g' refreshes.  Interactively NAME is read,
defaulting to the trigger that failed last.  Returns the text."
  (interactive
   (list (let ((names (sort (hash-table-keys harnesssync--triggers) #'string<))
               (default (or harnesssync--last-failed-trigger
                            (car (hash-table-keys harnesssync--triggers)))))
           (completing-read (format-prompt "Log of trigger" default) names nil nil nil nil default))))
  (when (or (null name) (string-empty-p name))
    (setq name (or harnesssync--last-failed-trigger
                   (let ((names (mapcar (lambda (tr) (plist-get tr :name))
                                        (append (harnesssync--call 'trigger.list) nil))))
                     (cond ((= 1 (length names)) (car names))
                           ((null names) (user-error "harnesssync: no trigger is set (hsctl trigger set)"))
                           (t (user-error "harnesssync: several triggers (%s); name one"
                                          (string-join names ", "))))))))
  (let* ((runs (harnesssync--call 'trigger.log (list :name name)))
         (text
          (if (zerop (length runs))
              (format "%s: no run yet\n" name)
            (mapconcat
             (lambda (r)
               (let ((out (plist-get r :output))
                     (changed (plist-get r :changed)))
                 (concat
                  (format "%s run %d  started %s  %s  %s ms  %s\n" name (plist-get r :run)
                          (plist-get r :started)
                          (cond ((eq (plist-get r :coalesced) t) "coalesced")
                                ((null (plist-get r :ended)) "running")
                                (t (harnesssync--trigger-how r)))
                          (plist-get r :duration_ms)
                          (if (integerp changed) (format "%d changed" changed) "changes unknown (*)"))
                  (mapconcat (lambda (key)
                               (let ((s (plist-get out key)))
                                 (if (and (stringp s) (not (string-empty-p s)))
                                     (format "--- %s\n%s%s" (substring (symbol-name key) 1) s
                                             (if (string-suffix-p "\n" s) "" "\n"))
                                   "")))
                             '(:stdout :stderr) "")
                  "\n")))
             runs "")))
         (buf (get-buffer-create "*harnesssync-trigger-log*")))
    (with-current-buffer buf
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert text))
      (special-mode)
      (setq-local revert-buffer-function (lambda (&rest _) (harnesssync-trigger-log name)))
      (goto-char (point-max)))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    text))

;;;###autoload
(defun harnesssync-reconnect ()
  "Drop the connection to harnesssyncd and connect again."
  (interactive)
  (harnesssync--disconnect)
  (setq harnesssync--reported nil harnesssync--attempt 0)
  (when harnesssync-mode (harnesssync--connect)))

(defun harnesssync--disconnect ()
  "Close the connection and stop every timer."
  (when (timerp harnesssync--timer) (cancel-timer harnesssync--timer))
  (setq harnesssync--timer nil)
  (let ((conn harnesssync--conn))
    (setq harnesssync--conn nil harnesssync--connected nil)
    (when conn
      (ignore-errors (jsonrpc-shutdown conn t))))
  (clrhash harnesssync--drift)
  (harnesssync--clear-triggers))

;;;###autoload
(define-minor-mode harnesssync-mode
  "Show HarnessSync drift in the mode line, live, from harnesssyncd.
The lighter reads \" HS ✓\", \" HS: 2 drifted (codex)\", \" HS: syncing…\"
\(a trigger runs) or \" HS: offline\"; a visited file that drifted gets a
header line, and a failed trigger run a warning."
  :global t
  :group 'harnesssync
  :lighter (:eval (harnesssync--lighter))
  (if harnesssync-mode
      (progn
        (add-hook 'find-file-hook #'harnesssync--visit-hook)
        (add-hook 'after-save-hook #'harnesssync--visit-hook)
        (setq harnesssync--reported nil harnesssync--attempt 0)
        (harnesssync--connect))
    (remove-hook 'find-file-hook #'harnesssync--visit-hook)
    (remove-hook 'after-save-hook #'harnesssync--visit-hook)
    (harnesssync--disconnect)
    (harnesssync--update-buffers)
    (force-mode-line-update t)))

(provide 'harnesssync)
;;; harnesssync.el ends here
