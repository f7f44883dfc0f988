"""Asks an X window to close the way a window manager's close button does (WM_DELETE_WINDOW),
for tests under Xvfb, which has no window manager. Usage: wm-close.py TITLE"""
import sys

from Xlib import X, display, protocol


def find(win, title):
    try:
        if win.get_wm_name() == title:
            return win
    except Exception:
        pass
    for child in win.query_tree().children:
        found = find(child, title)
        if found:
            return found
    return None


d = display.Display()
target = find(d.screen().root, sys.argv[1])
if target is None:
    sys.exit(f"no window titled {sys.argv[1]!r}")
protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
event = protocol.event.ClientMessage(window=target, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
target.send_event(event, event_mask=X.NoEventMask)
d.flush()
