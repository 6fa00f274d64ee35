# printgate's LibreOffice worker bridge (written out and started by src/convert/office.rs).
#
# Starts one headless soffice with its own profile (macros disabled, links never updated),
# connects over a private UNO pipe, prints READY, then answers one JSON request per line on
# stdin: {"in": path, "out": path, "filter": import filter or "", "options": filter options}
# with {"ok": true} or {"ok": false, "error": "..."} on stdout. Exits when stdin closes.
# Never prints document content.
import json
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="SecureURL" oor:op="fuse"><value/></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

# MacroExecutionMode NEVER_EXECUTE and UpdateDocMode NO_UPDATE (com.sun.star.document).
NEVER_EXECUTE = 0
NO_UPDATE = 0


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def export_filter(doc):
    if doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        return "calc_pdf_Export"
    if doc.supportsService("com.sun.star.presentation.PresentationDocument"):
        return "impress_pdf_Export"
    if doc.supportsService("com.sun.star.drawing.DrawingDocument"):
        return "draw_pdf_Export"
    if doc.supportsService("com.sun.star.text.WebDocument"):
        return "writer_web_pdf_Export"
    return "writer_pdf_Export"


def convert(desktop, req):
    props = [prop("Hidden", True), prop("ReadOnly", True), prop("MacroExecutionMode", NEVER_EXECUTE),
             prop("UpdateDocMode", NO_UPDATE)]
    if req.get("filter"):
        props.append(prop("FilterName", req["filter"]))
    if req.get("options"):
        props.append(prop("FilterOptions", req["options"]))
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(req["in"]), "_blank", 0, tuple(props))
    if doc is None:
        raise RuntimeError("LibreOffice cannot open this document")
    try:
        doc.storeToURL(uno.systemPathToFileUrl(req["out"]), (prop("FilterName", export_filter(doc)),))
    finally:
        doc.close(True)


def main():
    soffice, profile, pipe = sys.argv[1], sys.argv[2], sys.argv[3]
    user = os.path.join(profile, "user")
    os.makedirs(user, exist_ok=True)
    with open(os.path.join(user, "registrymodifications.xcu"), "w", encoding="utf-8") as f:
        f.write(REGISTRY)
    office = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
         "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
         "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 120
    while True:
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except NoConnectException:
            if office.poll() is not None:
                sys.stderr.write("soffice exited with status %s before accepting connections\n" % office.returncode)
                sys.exit(3)
            if time.monotonic() > deadline:
                sys.stderr.write("soffice did not accept connections within 120 s\n")
                office.kill()
                sys.exit(3)
            time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    reply({"ready": True, "pid": office.pid})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            convert(desktop, json.loads(line))
            reply({"ok": True})
        except Exception as e:  # the error goes to the caller, the worker lives on
            # ...unless soffice itself is gone (killed from outside, or crashed on the document):
            # then this worker exits without a reply, so the caller sees a dead worker and can
            # try the document again on a fresh one instead of refusing it.
            try:
                office.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
            if office.poll() is not None:
                sys.stderr.write("soffice exited with status %s during a conversion\n" % office.returncode)
                sys.exit(3)
            message = getattr(e, "Message", "") or str(e) or type(e).__name__
            reply({"ok": False, "error": type(e).__name__ + ": " + message.splitlines()[0][:300] if message else type(e).__name__})
        if office.poll() is not None:
            sys.stderr.write("soffice exited with status %s\n" % office.returncode)
            sys.exit(3)
    try:
        desktop.terminate()
    except Exception:
        pass
    try:
        office.wait(10)
    except subprocess.TimeoutExpired:
        office.kill()


if __name__ == "__main__":
    main()
