#!/usr/bin/python3
"""tests/boot/arm64_trace.py TRACE [COUNTER_MHZ]: read one boot's ftrace text from the
arm64 test host (tests/boot/arm64_trace.sh) and print:

- each vCPU thread's time in the guest, blocked in WFI, and in the host
  between an exit and the next entry (exit handling, or descheduled);
- each WFI's wake-up against its virtual timer's deadline: the CTL/CVAL
  KVM saved at the WFI (kvm_timer_save_state), the wake-up
  (kvm_vcpu_wakeup); CVAL is put on the trace clock by the timer's own
  hard-IRQ firings (kvm_timer_update_irq level 1 in hard-IRQ context,
  then the CVAL saved at that exit), so "late" is how long after the
  deadline the vCPU was woken. An unarmed timer (disabled or masked) at
  a WFI means the vCPU waited for another interrupt;
- the test host's CPU time by task (sched_switch), when traced.
"""
import collections
import re
import sys

LINE = re.compile(r"\s*(\S+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\w+):\s*(.*)")
CVAL = re.compile(r"CTL:\s+0x([0-9a-f]+)\s+CVAL:\s+0x([0-9a-f]+)")
SWITCH = re.compile(r"prev_comm=(.*?) prev_pid=(\d+).*next_comm=(.*?) next_pid=(\d+)")


def read(path):
    ev = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = LINE.match(line)
            if m:
                ev.append((m.group(1), int(m.group(2)), m.group(3),
                           float(m.group(4)), m.group(5), m.group(6)))
    return ev


def vcpu_time(ev):
    acc = collections.defaultdict(collections.Counter)
    state, since = {}, {}
    for th, _, _, t, name, _ in ev:
        new = {"kvm_entry": "guest", "kvm_exit": "host",
               "kvm_wfx_arm64": "wfi", "kvm_vcpu_wakeup": "host"}.get(name)
        if not new:
            continue
        if th in state:
            acc[th][state[th]] += t - since[th]
        state[th], since[th] = new, t
    for th in sorted(acc):
        a = acc[th]
        print("%s: guest %.2f s, wfi %.2f s, host %.2f s" %
              (th, a["guest"], a["wfi"], a["host"]))


def wfi_wakeups(ev, mhz):
    fired, pairs = {}, []
    for th, _, fl, t, name, rest in ev:
        if name == "kvm_timer_update_irq" and "h" in fl and "level 1" in rest:
            fired[th] = t
        elif name == "kvm_timer_save_state" and th in fired:
            m = CVAL.search(rest)
            if m:
                pairs.append((fired.pop(th), int(m.group(2), 16)))
    if len(pairs) < 10:
        print("too few timer firings (%d) to place CVAL on the clock" %
              len(pairs))
        return
    n = len(pairs)
    mx = sum(c for _, c in pairs) / n
    my = sum(t for t, _ in pairs) / n
    slope = (sum((c - mx) * (t - my) for t, c in pairs) /
             sum((c - mx) ** 2 for _, c in pairs))
    # The counter's frequency: the test host's (its arch_timer line), or
    # the fit's rounded to 0.5 MHz; 0.1% off drifts the deadlines by
    # 40 ms over a 40 s trace.
    freq = mhz * 1e6 if mhz else round(2 / slope / 1e6) * 0.5e6
    offs = sorted(t - c / freq for t, c in pairs)
    off = offs[n // 20]  # the firings' own latency: its 5th percentile
    wfi, late, unarmed = {}, [], []
    for th, _, _, t, name, rest in ev:
        if name == "kvm_wfx_arm64":
            wfi[th] = {"t": t}
        elif name == "kvm_timer_save_state" and th in wfi and "ctl" not in wfi[th]:
            m = CVAL.search(rest)
            if m:
                wfi[th]["ctl"] = int(m.group(1), 16)
                wfi[th]["cval"] = int(m.group(2), 16)
        elif name == "kvm_vcpu_wakeup" and th in wfi:
            w = wfi.pop(th)
            if "ctl" not in w:
                continue
            if w["ctl"] & 3 == 1:
                late.append((t - (w["cval"] / freq + off), t - w["t"], th, w["t"]))
            else:
                unarmed.append((t - w["t"], th, w["t"], w["ctl"]))
    late.sort()
    print("counter %.1f MHz (fit %.2f); %d WFIs with the timer armed, %d not"
          % (freq / 1e6, 1 / slope / 1e6, len(late), len(unarmed)))
    if late:
        k = len(late)
        print("woken after the deadline: median %.3f s, 99%% %.3f s, max %.3f s"
              % (late[k // 2][0], late[k * 99 // 100][0], late[-1][0]))
        for x in late[-3:][::-1]:
            print("  late %.3f s (blocked %.3f s) %s, WFI at %.3f" % x)
    for x in sorted(unarmed)[-3:][::-1]:
        print("  unarmed: blocked %.3f s %s, WFI at %.3f, ctl=0x%x" % x)


def cpu_by_task(ev):
    run, acc = {}, collections.Counter()
    for _, cpu, _, t, name, rest in ev:
        if name != "sched_switch":
            continue
        m = SWITCH.search(rest)
        if not m:
            continue
        if cpu in run:
            acc[run[cpu][0]] += t - run[cpu][1]
        nxt = m.group(3)
        task = "idle" if nxt.startswith("swapper") else (
            nxt + "-" + m.group(4) if nxt == "kvmlite" else nxt)
        run[cpu] = (task, t)
    if acc:
        tot = sum(acc.values())
        print("test host CPU time by task (%.1f CPU-seconds):" % tot)
        for task, v in acc.most_common(8):
            print("  %6.2f s %s" % (v, task))


def main():
    ev = read(sys.argv[1])
    if not ev:
        print("no trace events")
        return
    print("trace: %.2f s" % (ev[-1][3] - ev[0][3]))
    vcpu_time(ev)
    wfi_wakeups(ev, float(sys.argv[2]) if len(sys.argv) > 2 else None)
    cpu_by_task(ev)


if __name__ == "__main__":
    main()
