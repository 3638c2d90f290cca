// The kqueue backend (macOS, FreeBSD): written against kqueue(2) and the
// Backend contract, NOT BUILT OR TESTED here (docs/ARCHITECTURE.md,
// "Platforms"). Declared only where it is compiled.
//
// kqueue watches vnodes, not names. EVFILT_VNODE on a directory's
// descriptor says that the directory changed (NOTE_WRITE: an entry was
// created, removed or renamed) but not which entry, and nothing at all of
// a file written in place. So a watched directory keeps its entries
// (name -> device and inode), rescans itself on NOTE_WRITE and reports the
// names that came, went or now name another inode; and each regular file
// and subdirectory in it gets a vnode filter of its own, so that writes,
// attribute changes and links of an entry are reported under its name. A
// directory is watched only when all of that holds: when an entry cannot
// be opened, or the descriptors this backend may use are spent, add_dir
// fails (a rescan drops the watch: kGone) and FileWatch polls instead.
// Symlinks, FIFOs, sockets and devices need no filter of their own: they
// change only by being replaced, which is the directory's NOTE_WRITE.
//
// The sync cookie is an EVFILT_USER event. kqueue keeps no order between
// knotes, but a vnode event is activated inside the system call that made
// the change, before that call returns; so every change made before
// request_cookie() is active when the cookie is, and a read drains the
// queue to empty before it reports the cookie, last.
//
// TreeWatch calls add_dir and remove from its worker thread while the
// loop drains the queue (tree_watch.cpp), and a drain rescans directories:
// the maps are under one mutex, never held while on_events runs (FileWatch
// calls add_dir and remove from there).
#pragma once

#if defined(__APPLE__) || defined(__FreeBSD__)

#include "daemon/watch/watch_backend.hpp"

namespace hs::daemon::watch {

/// A kqueue backend reading on `io`; an error when kqueue(2) refuses one.
Result<std::unique_ptr<Backend>> make_kqueue_backend(boost::asio::io_context& io, Backend::OnEvents on_events);

}  // namespace hs::daemon::watch

#endif
