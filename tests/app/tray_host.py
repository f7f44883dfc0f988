#!/usr/bin/env python3
"""The least a panel does to show tray items: owns org.kde.StatusNotifierWatcher on the session
bus and writes one line "<sender> <item path>" to argv[1] for every item that registers, so
tests/app/update.test.mjs can read the app's tray menu (com.canonical.dbusmenu) and click it."""

import sys

from gi.repository import Gio, GLib

INTERFACE = Gio.DBusNodeInfo.new_for_xml(
    """<node><interface name="org.kde.StatusNotifierWatcher">
      <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
      <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
      <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
      <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
      <property name="ProtocolVersion" type="i" access="read"/>
      <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    </interface></node>"""
).interfaces[0]

log_path = sys.argv[1]
registered = []


def method(conn, sender, _path, _iface, name, args, invocation):
    if name == "RegisterStatusNotifierItem":
        (arg,) = args.unpack()
        # An item names itself by object path (on its own connection) or by bus name.
        owner, path = (sender, arg) if arg.startswith("/") else (arg, "/StatusNotifierItem")
        registered.append(owner + path)
        with open(log_path, "a") as f:
            f.write(f"{owner} {path}\n")
        conn.emit_signal(None, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher",
                         "StatusNotifierItemRegistered", GLib.Variant("(s)", (arg,)))
    invocation.return_value(None)


def prop(_conn, _sender, _path, _iface, name):
    values = {
        "RegisteredStatusNotifierItems": GLib.Variant("as", registered),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }
    return values[name]


def acquired(conn, _name):
    print("tray host ready", flush=True)


bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
bus.register_object("/StatusNotifierWatcher", INTERFACE, method, prop, None)
Gio.bus_own_name_on_connection(bus, "org.kde.StatusNotifierWatcher", Gio.BusNameOwnerFlags.NONE, acquired, None)
GLib.MainLoop().run()
