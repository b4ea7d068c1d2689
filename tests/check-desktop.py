#!/usr/bin/env python3
"""Drive examples/desktop (its GTK window) under Xvfb, as a user would.

usage: check-desktop.py DESKTOP_EXE gtk|no-gtk

Starts a private Xvfb server, runs the example on it, types "axle" into the
search box with xdotool, waits for the results, presses Enter to start the
download, waits until a quarter of it has arrived, and closes the window
with Ctrl+Q.  Passes when the example reports the results, reports the
download cancelled part-way (its drop handler ran on the GUI thread), and
exits with status 0.  The example prints one line per event on stdout;
the waits below are for those lines, with generous limits (a limit only
turns a hang into a failure; nothing here is a measurement).

Exits 77 (meson's "skipped") with a message saying what is missing when
the example was built without GTK, or Xvfb or xdotool is not installed
(scripts/bootstrap.sh test installs them).  AXLE_SCREENSHOT=path.png saves
a screenshot of the window (ImageMagick's import) once the download runs.
"""
import os
import queue
import shutil
import subprocess
import sys
import threading


def skip(why):
    print('SKIP: ' + why + ' (scripts/bootstrap.sh test installs it)')
    sys.exit(77)


def start_xvfb():
    """A private X server on a free display; returns (process, ':N')."""
    r, w = os.pipe()
    xvfb = subprocess.Popen(
        ['Xvfb', '-displayfd', str(w), '-screen', '0', '1024x768x24',
         '-nolisten', 'tcp'],
        pass_fds=[w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    num = b''
    while not num.endswith(b'\n'):
        c = os.read(r, 1)
        if not c:
            break
        num += c
    os.close(r)
    if not num.strip():
        xvfb.kill()
        raise RuntimeError('Xvfb did not start')
    return xvfb, ':' + num.decode().strip()


def main(argv):
    exe, flavour = argv[1], argv[2]
    if flavour != 'gtk':
        skip('examples/desktop was built without GTK 4 (libgtk-4-dev)')
    for tool, pkg in (('Xvfb', 'xvfb'), ('xdotool', 'xdotool')):
        if shutil.which(tool) is None:
            skip('%s not found (Debian package %s)' % (tool, pkg))

    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display, GDK_BACKEND='x11',
               GSK_RENDERER='cairo', NO_AT_BRIDGE='1', GTK_A11Y='none')
    app = subprocess.Popen([exe], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    seen = []

    def reader():
        for line in app.stdout:
            lines.put(line.rstrip('\n'))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()

    def wait_for(pred, what, limit=30):
        while True:
            try:
                line = lines.get(timeout=limit)
            except queue.Empty:
                raise RuntimeError('no %s within %d s; saw %r' % (what, limit, seen))
            if line is None:
                raise RuntimeError('the app ended before %s; saw %r' % (what, seen))
            seen.append(line)
            if pred(line):
                return line

    def xdo(*args):
        subprocess.run(['xdotool'] + list(args), env=env, check=True,
                       timeout=30)

    ok = False
    try:
        wait_for(lambda l: l == 'ready', 'the window')
        wid = subprocess.run(
            ['xdotool', 'search', '--sync', '--name', 'axle desktop demo'],
            env=env, check=True, timeout=30, stdout=subprocess.PIPE,
            text=True).stdout.split()[0]
        # No window manager: give the window the keyboard focus ourselves.
        xdo('windowfocus', '--sync', wid)
        xdo('type', '--delay', '40', 'axle')
        wait_for(lambda l: l == "results: 'axle' -> axle, axles, axletree",
                 "the results for 'axle'")
        xdo('key', 'Return')
        wait_for(lambda l: l == 'download: 25%', 'download progress')
        shot = os.environ.get('AXLE_SCREENSHOT')
        if shot and shutil.which('import'):
            subprocess.run(['import', '-window', wid, shot], env=env,
                           timeout=30, check=False)
        xdo('key', 'ctrl+q')
        cancelled = wait_for(lambda l: l.startswith('download: cancelled at')
                             or l.startswith('download: done'),
                             'the download cancelled')
        if not cancelled.startswith('download: cancelled at'):
            raise RuntimeError('the download finished before the window '
                               'closed: %r' % seen)
        wait_for(lambda l: l == 'bye', 'the exit')
        rc = app.wait(timeout=30)
        if rc != 0:
            raise RuntimeError('exit status %d' % rc)
        ok = True
    except Exception as e:  # report, then clean up
        print('FAIL: %s' % e)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        err = app.stderr.read()
        if err.strip():
            print('--- stderr of the app\n' + err)
        xvfb.terminate()
        xvfb.wait()
    print('\n'.join(seen))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
