#!/usr/bin/env python3
"""Wall time of commands run in turn, one run of each per round, so that a
machine whose load changes during the run weighs on all of them alike
(hyperfine runs all of one command, then all of the next). Prints each
command's median and its ratio to the LAST command's median.
Usage: tests/bench/interleaved.py ROUNDS 'CMD ARGS...' ... 'REFERENCE ARGS...'
(docs/PERFORMANCE.md, "Latest: hsctl per call and cold start")."""
import os, sys, time, statistics, shlex
cmds=[shlex.split(c) for c in sys.argv[2:]]; n=int(sys.argv[1])
dn=os.open('/dev/null',os.O_WRONLY)
def run(c):
    t=time.perf_counter(); pid=os.posix_spawn(c[0],c,os.environ,file_actions=[(os.POSIX_SPAWN_DUP2,dn,1)]); os.waitpid(pid,0); return time.perf_counter()-t
ts=[[] for _ in cmds]
for i in range(n):
    for j,c in enumerate(cmds): ts[j].append(run(c))
w=statistics.median(ts[-1])
for c,t in zip(cmds,ts): print(os.path.basename(c[0]), '%.3f ms'%(statistics.median(t)*1e3), '%.2f x last'%(statistics.median(t)/w))
