#!/usr/bin/env python3
"""A stand-in for a desktop panel's tray host: owns org.kde.StatusNotifierWatcher on the session bus
given as argv[1] and, when an app registers a StatusNotifierItem, reads the item's Id, Title and
Status back from it and appends them to argv[2] as a JSON line. Used by tests/install/install.sh
to check that the installed app's tray item really exists on the bus."""

import json
import sys

from gi.repository import Gio, GLib

WATCHER = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""

address, out = sys.argv[1], sys.argv[2]
conn = Gio.DBusConnection.new_for_address_sync(
    address,
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None,
    None,
)
items = []


def item_properties(sender, path):
    """The item's own answer for Id, Title and Status (org.kde.StatusNotifierItem)."""
    props = {}
    for name in ("Id", "Title", "Status"):
        try:
            v = conn.call_sync(sender, path, "org.freedesktop.DBus.Properties", "Get",
                               GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", name)),
                               GLib.VariantType("(v)"), Gio.DBusCallFlags.NONE, 5000, None)
            props[name] = v.unpack()[0]
        except GLib.Error as e:
            props[name] = "error: " + e.message
    return props


def on_call(connection, sender, path, iface, method, params, invocation):
    if method == "RegisterStatusNotifierItem":
        service = params.unpack()[0]
        # A service is a bus name or an object path on the caller's connection.
        item_path = service if service.startswith("/") else "/StatusNotifierItem"
        bus_name = sender if service.startswith("/") else service
        items.append(bus_name + item_path)
        invocation.return_value(None)
        connection.emit_signal(None, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher",
                               "StatusNotifierItemRegistered", GLib.Variant("(s)", (service,)))
        record = {"sender": sender, "service": service, **item_properties(bus_name, item_path)}
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
    else:
        invocation.return_value(None)


def on_get(connection, sender, path, iface, name):
    return {
        "RegisteredStatusNotifierItems": GLib.Variant("as", items),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }[name]


node = Gio.DBusNodeInfo.new_for_xml(WATCHER)
conn.register_object("/StatusNotifierWatcher", node.interfaces[0], on_call, on_get, None)
reply = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
                      GLib.Variant("(su)", ("org.kde.StatusNotifierWatcher", 4)), GLib.VariantType("(u)"),
                      Gio.DBusCallFlags.NONE, 5000, None)
assert reply.unpack()[0] == 1, "org.kde.StatusNotifierWatcher is already owned"
print("watcher ready", flush=True)
GLib.MainLoop().run()
