"""dbx setup, login, logout, passwd: scripted (--password-file, --yes) and
interactive on a pseudo-terminal (no echo of passwords, words asked
back)."""
import fcntl
import json
import os
import re
import select
import stat
import subprocess
import termios
import time

from auth_helpers import PASSWORD, bip39_valid
from harness import DBX, SAN_ENV


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    os.chmod(p, 0o600)
    return str(p)


def dbx(daemon, *args, home=None, url=False, **kw):
    env = dict(os.environ, **SAN_ENV)
    if home:
        env["HOME"] = str(home)
        env.pop("XDG_CONFIG_HOME", None)
    target = ["--url", daemon.url] if url else ["--socket", daemon.admin_socket]
    # a new session: no controlling terminal, as in CI and scripts
    return subprocess.run([DBX] + target + list(args), capture_output=True, text=True,
                          timeout=120, env=env, start_new_session=True, **kw)


def phrase_from(out):
    words = re.findall(r"^\s*\d+\.\s+([a-z]+)|\s\d+\.\s+([a-z]+)", out, re.M)
    return [a or b for a, b in words]


def test_dbx_setup_scripted_over_admin_socket(daemon, tmp_path):
    pw = write(tmp_path, "pw", PASSWORD + "\n")
    r = dbx(daemon, "setup", "--password-file", pw)
    assert r.returncode == 2 and "pass --yes" in r.stderr  # no terminal to confirm on
    assert daemon.admin("GET", "/keys")[1] == '{"keys":[]}'

    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n")
    r = dbx(daemon, "setup", "--password-file", pw, "--yes", "--no-sources",
            "--ssh-key-file", str(key))
    assert r.returncode == 0, r.stderr
    words = phrase_from(r.stdout)
    assert len(words) == 24 and bip39_valid(words), r.stdout
    assert "shown only this once" in r.stdout and "Setup complete." in r.stdout
    code, body = daemon.admin("GET", "/system/bootstrap")
    assert json.loads(body)["setupFacts"]["hasCompletedInitialConfiguration"] is True
    assert daemon.post("/authenticate", json={"password": PASSWORD}).status_code == 200
    r = dbx(daemon, "setup", "--password-file", pw, "--yes")
    assert r.returncode == 1 and "already been initialised" in r.stderr


def test_dbx_login_passwd_logout_over_url(daemon, tmp_path):
    daemon.setup()
    home = tmp_path / "home"
    home.mkdir()
    r = dbx(daemon, "login", home=home)
    assert r.returncode == 2 and "not needed over the admin socket" in r.stderr
    bad = write(tmp_path, "bad", "wrong\n")
    r = dbx(daemon, "login", "--password-file", bad, home=home, url=True)
    assert r.returncode == 1 and "incorrect password" in r.stderr
    r = dbx(daemon, "status", home=home, url=True)
    assert r.returncode == 1 and "needs a session" in r.stderr

    pw = write(tmp_path, "pw", PASSWORD)
    r = dbx(daemon, "login", "--password-file", pw, home=home, url=True)
    assert r.returncode == 0, r.stderr
    tf = home / ".config" / "dbx" / "token"
    assert stat.S_IMODE(os.stat(tf).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tf.parent).st_mode) == 0o700
    tokens = json.loads(tf.read_text())
    assert set(tokens) == {daemon.url} and len(tokens[daemon.url]) == 64
    r = dbx(daemon, "--json", "status", home=home, url=True)
    assert r.returncode == 0, r.stderr

    # a token file others can read is not used
    os.chmod(tf, 0o644)
    r = dbx(daemon, "status", home=home, url=True)
    assert r.returncode == 1 and "others can read it" in r.stderr
    os.chmod(tf, 0o600)

    # passwd: every session goes, this dbx gets a fresh one
    new = write(tmp_path, "new", "a new password\n")
    r = dbx(daemon, "passwd", "--password-file", bad, "--new-password-file", new,
            home=home, url=True)
    assert r.returncode == 1 and "Invalid credentials" in r.stderr
    old_token = tokens[daemon.url]
    r = dbx(daemon, "passwd", "--password-file", pw, "--new-password-file", new,
            home=home, url=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(tf.read_text())[daemon.url] != old_token
    assert dbx(daemon, "status", home=home, url=True).returncode == 0
    assert daemon.get("/system/status").status_code == 401  # the harness' session too
    assert daemon.post("/authenticate", json={"password": "a new password"}).status_code == 200

    r = dbx(daemon, "logout", home=home, url=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(tf.read_text()) == {}
    assert dbx(daemon, "status", home=home, url=True).returncode == 1


def test_dbx_passwd_with_recovery_phrase_as_root(daemon, tmp_path):
    words = daemon.post("/keys/create-master", json={"password": PASSWORD}).json()["seedPhrase"]
    phrase = write(tmp_path, "phrase", " ".join(words) + "\n")
    new = write(tmp_path, "new", "reset via phrase")
    r = dbx(daemon, "passwd", "--seed-phrase-file", phrase, "--new-password-file", new)
    assert r.returncode == 0, r.stderr
    assert "every session was logged out" in r.stdout
    assert daemon.post("/authenticate", json={"password": "reset via phrase"}).status_code == 200
    r = dbx(daemon, "passwd", "--seed-phrase-file", phrase, "--password-file", new)
    assert r.returncode == 2 and "not both" in r.stderr


class Pty:
    """dbx on a pseudo-terminal that is its controlling terminal. expect()
    consumes output up to its match; everything stays in self.all."""

    def __init__(self, args):
        self.master, slave = os.openpty()

        def child():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([DBX] + args, stdin=slave, stdout=slave, stderr=slave,
                                     preexec_fn=child, env=dict(os.environ, **SAN_ENV))
        os.close(slave)
        self.buf = self.all = b""

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:
            chunk = b""
        self.buf += chunk
        self.all += chunk
        return bool(chunk)

    def expect(self, pattern, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern.encode(), self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if not self._read(0.2) and self.proc.poll() is not None:
                break
        raise AssertionError("never saw %r in:\n%s" % (pattern, self.all.decode(errors="replace")))

    def send(self, line):
        os.write(self.master, line.encode() + b"\n")

    def wait(self):
        rc = self.proc.wait(60)
        while self._read(0.2) and len(self.all) < 1 << 20:
            pass
        os.close(self.master)
        return rc


def test_dbx_setup_interactive(daemon):
    t = Pty(["--socket", daemon.admin_socket, "setup", "--no-sources"])
    t.expect("New owner password: ")
    t.send("typed secret")
    t.expect("Repeat it: ")
    t.send("typed secret")
    t.expect("type back 3 of the words")
    words = phrase_from(t.all.decode())
    assert len(words) == 24 and bip39_valid(words)
    # one wrong answer is asked again, then the right words
    m = t.expect(r"Word #(\d+): ")
    t.send("notaword")
    t.expect("That is not word")
    for i in range(3):
        m = t.expect(r"Word #(\d+): ")
        t.send(words[int(m.group(1)) - 1].upper())
    t.expect("Setup complete.")
    assert t.wait() == 0, t.all
    assert b"typed secret" not in t.all  # no echo
    assert daemon.post("/authenticate", json={"password": "typed secret"}).status_code == 200


def test_dbx_setup_interactive_mismatch_leaves_setup_unfinished(daemon):
    t = Pty(["--socket", daemon.admin_socket, "setup", "--no-sources"])
    t.expect("New owner password: ")
    t.send("one")
    t.expect("Repeat it: ")
    t.send("two")
    t.expect("the two passwords differ")
    t.expect("New owner password: ")
    t.send("pw")
    t.expect("Repeat it: ")
    t.send("pw")
    for _ in range(5):
        t.expect(r"Word #(\d+): ")
        t.send("wrong")
    t.expect("setup is not finished")
    assert t.wait() == 1
    code, body = daemon.admin("GET", "/system/bootstrap")
    facts = json.loads(body)["setupFacts"]
    assert facts["hasGeneratedKey"] is True
    assert facts["hasCompletedInitialConfiguration"] is False
    # running it again finishes setup (as root, no password needed)
    r = subprocess.run([DBX, "--socket", daemon.admin_socket, "setup", "--no-sources"],
                       capture_output=True, text=True, timeout=60, start_new_session=True,
                       env=dict(os.environ, **SAN_ENV))
    assert r.returncode == 0, r.stderr
    assert "finishing setup" in r.stdout
