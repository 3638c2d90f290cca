// Which OS facilities this build uses: one switch per Linux-only facility,
// each with a POSIX fallback behind its seam (docs/ARCHITECTURE.md,
// "Platforms"). -DHS_PORTABLE=ON (CMake) turns every one of them off, so the
// fallbacks that macOS and the BSDs would run are built and tested here, on
// Linux, by the whole suite (packaging/dev.sh test, build-portable).
//
// Test a facility with `#if HS_HAVE_X`, never with `#ifdef __linux__`, so
// that HS_PORTABLE reaches every seam.
#pragma once

#if defined(__linux__) && !defined(HS_PORTABLE)
#define HS_HAVE_INOTIFY 1      // else: stat polling (watch::Backend)
#define HS_HAVE_MEMFD 1        // else: no memfd_create (the inotify cookie's file)
#define HS_HAVE_RENAMEAT2 1    // else: rename(2) with an identity check before it
#define HS_HAVE_SO_PEERCRED 1  // else: getpeereid(3) / LOCAL_PEERCRED
#define HS_HAVE_PIDFD 1        // else: SIGCHLD and waitpid(2) to reap children
#else
#define HS_HAVE_INOTIFY 0
#define HS_HAVE_MEMFD 0
#define HS_HAVE_RENAMEAT2 0
#define HS_HAVE_SO_PEERCRED 0
#define HS_HAVE_PIDFD 0
#endif
// sd_notify, the watchdog and socket activation need no switch: they are
// environment variables and a datagram on a Unix socket, which the daemon
// speaks itself on every build, HS_PORTABLE included (service_manager.cpp).
