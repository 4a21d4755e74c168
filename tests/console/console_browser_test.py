#!/usr/bin/python3
"""The web console in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium (python3-selenium), against the real rdz-console, the real rdzd and a real
SMTP sink (python3-aiosmtpd). rdzctl sets up and checks what the browser did.

Usage: console_browser_test.py RDZD RDZCTL RDZ_CONSOLE ARTIFACTS_DIR
Every page visited is saved as a 1280x800 screenshot in ARTIFACTS_DIR.
"""
import datetime
import zoneinfo
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

RDZD, RDZCTL, CONSOLE, ARTIFACTS = (os.path.abspath(a) for a in sys.argv[1:5])
PYTHON = "/usr/bin/python3"
SCRIPT_NAME = "<script>alert(1)</script>"


def paris_today():
    # rdzd's days are Paris days: near midnight UTC the machine's own date is another one.
    return datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class Env:
    """One temp dir with rdzd, two SMTP sinks' ports (MDL's down at first), the console."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rdz-console-test-")
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.data, "rdzd.sock")
        self.procs = {}
        try:
            self.setup()
        except BaseException:
            self.stop()
            raise

    def setup(self):
        self.zr7_port = free_port()
        # MDL's SMTP server is down until test_06: its port stays bound here (connections are
        # refused) so that no other program (chromedriver picks free ports) takes it meanwhile.
        self.mdl_hold = socket.socket()
        self.mdl_hold.bind(("127.0.0.1", 0))
        self.mdl_port = self.mdl_hold.getsockname()[1]
        self.start_sink("zr7", self.zr7_port)
        self.start("rdzd", [RDZD, "--data_dir", self.data, "--zr7.smtp.port", str(self.zr7_port),
                            "--mdl.smtp.port", str(self.mdl_port)])
        wait_for(lambda: os.path.exists(self.socket) and self.ctl("client", "list").returncode == 0,
                 what="rdzd")
        self.start("console", [CONSOLE, "--listen", "127.0.0.1:0", "--socket", self.socket,
                               "--idle_minutes", "30"])
        log = os.path.join(self.dir, "console.log")
        def listening():
            with open(log) as f:
                return re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
        match = wait_for(listening, what="the console")
        self.url = "http://127.0.0.1:" + match.group(1)

    def start(self, name, args):
        with open(os.path.join(self.dir, name + ".log"), "ab") as log:
            self.procs[name] = subprocess.Popen(args, cwd=self.dir, stdout=log, stderr=log,
                                                stdin=subprocess.DEVNULL)

    def start_sink(self, name, port):
        if name == "mdl":
            self.mdl_hold.close()
        self.start("smtp-" + name, [PYTHON, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % port,
                                    "-c", "aiosmtpd.handlers.Mailbox",
                                    os.path.join(self.dir, "mail-" + name)])
        wait_for(lambda: self.accepts(port), what="the SMTP sink")

    @staticmethod
    def accepts(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def mails(self, name):
        folder = os.path.join(self.dir, "mail-" + name, "new")
        return os.listdir(folder) if os.path.isdir(folder) else []

    def ctl(self, *args):
        return subprocess.run([RDZCTL, "--socket", self.socket, "--token-file",
                               os.path.join(self.data, "admin.token")] + list(args),
                              capture_output=True, text=True, timeout=120)

    def ctl_ok(self, *args):
        r = self.ctl(*args)
        if r.returncode != 0:
            raise AssertionError("rdzctl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def ctl_json(self, *args):
        return json.loads(self.ctl_ok("--json", *args))

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def new_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,800", "--lang=fr-FR"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_window_size(1280, 800)
    return driver


class ConsoleInBrowser(unittest.TestCase):
    """The steps share one rdzd and run in order (test_01 … test_11)."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.env = Env()
        cls.admin_password = cls.env.ctl_json("user", "add", "marie", "--role", "admin")["password"]
        cls.browser = new_browser()
        cls.ids = {}

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.env.stop()
        if os.environ.get("RDZ_KEEP_TEST_DIR") is None:
            shutil.rmtree(cls.env.dir, ignore_errors=True)

    # ---- helpers ----

    def open(self, path, browser=None):
        (browser or self.browser).get(self.env.url + path)

    def shot(self, name, browser=None):
        """Saves the page (1280x800) after checking it shows no bare code for a coded value."""
        b = browser or self.browser
        self.assertNotIn("unknown", self.text(b), name)
        b.set_window_size(1280, 800)
        b.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))

    def fiche(self, label, browser=None):
        """The value shown for `label` in the page's record (dl.fiche)."""
        return (browser or self.browser).find_element(
            By.XPATH, "//dl[@class='fiche']/dt[text()='%s']/following-sibling::dd[1]" % label).text

    def text(self, browser=None):
        return (browser or self.browser).find_element(By.TAG_NAME, "body").text

    def click(self, element, browser=None):
        """Clicks and waits for the next page to replace this one."""
        b = browser or self.browser
        page = b.find_element(By.TAG_NAME, "html")
        element.click()

        def replaced(_):
            try:
                page.tag_name
                return False
            except WebDriverException:  # stale, or "does not belong to the document"
                return True
        WebDriverWait(b, 60).until(replaced)
        # A POST answered 303 loads a second page: wait until the last one is complete.
        WebDriverWait(b, 60).until(lambda d: d.execute_script(
            "return document.readyState") == "complete" and d.find_elements(By.TAG_NAME, "main"))

    def login(self, browser, name, password):
        browser.get(self.env.url + "/connexion")
        browser.find_element(By.NAME, "nom").send_keys(name)
        browser.find_element(By.NAME, "mot_de_passe").send_keys(password)
        self.click(browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"), browser)

    def fill(self, form_id, values):
        form = self.browser.find_element(By.ID, form_id)
        for name, value in values.items():
            element = form.find_element(By.NAME, name)
            if element.tag_name == "select":
                Select(element).select_by_value(value)
            else:
                element.clear()
                element.send_keys(value)
        self.click(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    def no_alert(self, browser=None):
        try:
            (browser or self.browser).switch_to.alert
            return False
        except NoAlertPresentException:
            return True

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def http(self, method, path, cookie, data=None):
        """A request outside the browser with a session cookie, redirects not followed:
        (status, headers, body)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.env.url + path, data=body, method=method)
        req.add_header("Cookie", "rdz_session=" + cookie)
        if body is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        opener = urllib.request.build_opener(self._NoRedirect)
        try:
            with opener.open(req) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def session_cookie(self, browser=None):
        return (browser or self.browser).get_cookie("rdz_session")["value"]

    def check_dashboard_equals_stats(self):
        today = paris_today()
        stats = self.env.ctl_json("stats", "--from", (today - datetime.timedelta(days=29)).isoformat(),
                                  "--to", today.isoformat())
        value = lambda id: self.browser.find_element(
            By.CSS_SELECTOR, "#%s .valeur" % id).text.replace("\u202f", "")
        checked = 0
        for entity in stats["entities"]:
            slug = entity["entity"].lower()
            for prefix, day in (("jour", entity["days"][-1]), ("periode", entity["total"])):
                for name in ("recus", "livres_fresh", "livres_lb", "fallback_entrants",
                             "fallback_sortants", "doublons_evites", "rejetes", "effaces",
                             "stock_lb", "fresh_invendus"):
                    want = "—" if day[name] is None else str(day[name])
                    self.assertEqual(value("%s-%s-%s" % (slug, prefix, name)), want,
                                     "%s %s %s" % (slug, prefix, name))
                    checked += 1
                self.assertEqual(value("%s-%s-invalides" % (slug, prefix)),
                                 str(sum(day["invalides"].values())))
            rows = self.browser.find_elements(By.CSS_SELECTOR, "#%s-commandes tbody tr" % slug)
            self.assertEqual(len(rows), len(entity["commandes"]))
            for row, c in zip(rows, entity["commandes"]):
                cells = [td.text.replace("\u202f", "") for td in row.find_elements(By.TAG_NAME, "td")]
                self.assertEqual(cells[0], c["id"])
                self.assertEqual(cells[3:7], [str(c["quota_semaine"]), str(c["livres_semaine"]),
                                              str(c["lb_semaine"]), str(c["remplacements_dus"])])
                self.assertEqual(cells[7], "%d %%" % c["completion_pct"])
                self.assertEqual(cells[8], str(c["manque"]))
                meter = row.find_element(By.TAG_NAME, "meter").get_attribute("value")
                self.assertEqual(float(meter), float(min(c["completion_pct"], 100)))
                checked += 1
        self.assertGreater(checked, 0)
        return stats

    # ---- the steps ----

    def test_01_login(self):
        self.open("/")
        self.assertTrue(self.browser.current_url.endswith("/connexion"))
        self.login(self.browser, "marie", "pas-le-bon")
        self.assertIn("Nom ou mot de passe incorrect", self.text())
        self.shot("connexion-erreur")
        self.login(self.browser, "marie", self.admin_password)
        self.assertIn("Tableau de bord", self.browser.title)
        cookie = self.browser.get_cookie("rdz_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        status, headers, _ = self.http("GET", "/", cookie["value"])
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Security-Policy"].split(";")[0], "default-src 'self'")
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        self.shot("tableau-de-bord-vide")

    def test_02_client_and_commande_forms(self):
        self.open("/clients/nouveau")
        self.fill("form-client", {"entity": "ZR7", "id": "solaire-sud", "nom": "Solaire Sud",
                                  "emails": "commandes@solaire-sud.example"})
        self.assertIn("Client solaire-sud créé", self.text())
        self.shot("client")
        self.assertEqual(self.env.ctl_json("client", "show", "solaire-sud")["nom"], "Solaire Sud")
        self.open("/clients/nouveau")
        self.fill("form-client", {"entity": "MDL", "id": "isol-ouest", "nom": "Isol Ouest",
                                  "emails": "leads@isol-ouest.example"})
        self.assertIn("Client isol-ouest créé", self.text())

        # A bad commande: the same message as rdzctl's, next to the form.
        self.open("/commandes/nouvelle")
        self.fill("form-commande", {"client": "solaire-sud", "produit": "PV",
                                    "quota_semaine": "0"})
        shown = self.browser.find_element(By.ID, "erreur").text
        refused = self.env.ctl("commande", "add", "--client", "solaire-sud", "--produit", "PV",
                               "--quota-semaine", "0")
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(shown, refused.stderr.strip().removeprefix("rdzctl: "))
        # rdzd's own words, in French, without KJ's "; name = value" trace.
        self.assertEqual(shown, "commande : quota_semaine doit être entre 1 et 100000")
        self.shot("commande-erreur")

        self.fill("form-commande", {"client": "solaire-sud", "produit": "PV",
                                    "quota_semaine": "20", "departements": "33,40"})
        self.assertIn("créée", self.text())
        self.ids["zr7_commande"] = self.browser.find_element(By.TAG_NAME, "h1").text.split()[-1]
        self.shot("commande")
        self.open("/commandes/nouvelle")
        self.fill("form-commande", {"client": "isol-ouest", "produit": "ITE",
                                    "quota_semaine": "10"})
        self.ids["mdl_commande"] = self.browser.find_element(By.TAG_NAME, "h1").text.split()[-1]
        commandes = self.env.ctl_json("commande", "list")["commandes"]
        self.assertEqual(sorted(c["id"] for c in commandes),
                         sorted([self.ids["zr7_commande"], self.ids["mdl_commande"]]))
        zr7 = [c for c in commandes if c["id"] == self.ids["zr7_commande"]][0]
        self.assertEqual(zr7["quota_semaine"], 20)
        self.assertEqual(zr7["departements"], ["33", "40"])
        # Deactivate then activate again through the button.
        self.open("/commandes/" + self.ids["zr7_commande"])
        self.click(self.browser.find_element(By.ID, "basculer-actif"))
        self.assertFalse(self.env.ctl_json("commande", "show", self.ids["zr7_commande"])["actif"])
        self.click(self.browser.find_element(By.ID, "basculer-actif"))
        self.assertTrue(self.env.ctl_json("commande", "show", self.ids["zr7_commande"])["actif"])
        self.open("/commandes")
        self.shot("commandes")
        self.open("/clients")
        self.shot("clients")

    def test_03_leads_and_delivery(self):
        def submit(entity, *fields):
            return self.env.ctl_json("lead", "submit", "--entity", entity, *fields)["id"]
        self.ids["script_lead"] = submit("ZR7", "produit=PV", "nom=" + SCRIPT_NAME, "prenom=Jeanne",
                                         "telephone=06 12 34 56 78", "code_postal=33000",
                                         "consentement=oui")
        self.ids["zr7_lead2"] = submit("ZR7", "produit=PV", "nom=Martin", "prenom=Paul",
                                       "telephone=0611223344", "code_postal=40100",
                                       "consentement=oui")
        self.ids["mdl_lead"] = submit("MDL", "produit=ITE", "nom=Lefèvre", "prenom=Hélène",
                                      "telephone=0698765432", "code_postal=20090",
                                      "consentement=oui")
        at = (datetime.datetime.now().astimezone() + datetime.timedelta(seconds=2)).isoformat(
            timespec="seconds")
        time.sleep(2.5)
        # MDL's SMTP server is down: its batch fails (rdzctl exits 1 for that).
        r = self.env.ctl("--json", "deliver", "--at", at, "--wait", "30")
        self.assertEqual(r.returncode, 1, r.stderr)
        run = json.loads(r.stdout)
        statuses = {b["client"]: b["status"] for b in run["batches"]}
        self.assertEqual(statuses, {"solaire-sud": "sent", "isol-ouest": "failed"})
        self.ids["run"] = run["run"]["id"]
        self.ids["failed_batch"] = [b["id"] for b in run["batches"] if b["status"] == "failed"][0]
        self.assertEqual(len(self.env.mails("zr7")), 1)
        # The dashboard's figures are `rdzctl stats --json`'s, for today, the 30 days and the
        # week's commandes.
        self.open("/")
        self.check_dashboard_equals_stats()
        self.assertIn("1 lot(s) en échec", self.browser.find_element(By.ID, "lots-en-echec").text)
        # The chart was drawn by Chart.js from the console's own files (no CDN, CSP intact).
        wait_for(lambda: self.browser.execute_script(
            "return typeof Chart !== 'undefined' && Chart.getChart('graphique') !== undefined"),
            what="the chart")
        self.shot("tableau-de-bord")
        # On a phone: the same page, narrow (kept beside the others, not 1280x800).
        self.browser.set_window_size(390, 844)
        self.browser.save_screenshot(os.path.join(ARTIFACTS, "telephone-tableau-de-bord.png"))
        self.assertLessEqual(self.browser.execute_script(
            "return document.documentElement.scrollWidth"), 390 + 1)
        self.browser.set_window_size(1280, 800)

    def test_04_lead_timeline_and_script_name(self):
        self.open("/leads")
        self.browser.find_element(By.NAME, "q").send_keys("06 12 34 56 78")
        self.click(self.browser.find_element(By.CSS_SELECTOR, "form[role=search] button"))
        self.assertIn(self.ids["script_lead"], self.text())
        self.shot("leads")
        self.click(self.browser.find_element(By.LINK_TEXT, self.ids["script_lead"]))
        # The name is text, never markup: shown as typed, no script ran.
        self.assertIn(SCRIPT_NAME, self.text())
        self.assertTrue(self.no_alert())
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", self.browser.page_source)
        self.assertEqual(self.browser.execute_script(
            "return document.querySelectorAll('main script').length"), 0)
        events = self.browser.find_elements(By.CSS_SELECTOR, "#historique li")
        history = self.env.ctl_json("lead", "show", self.ids["script_lead"])["history"]
        self.assertEqual(len(events), len(history))
        self.assertIn("livraison", " ".join(e.text for e in events))
        # Coded values by their French label (daemon/domain/labels.h), never the code.
        self.assertEqual(self.env.ctl_json("lead", "show", self.ids["script_lead"])["statut"],
                         "delivered")
        self.assertEqual(self.fiche("Statut"), "livré")
        self.assertEqual(self.fiche("Propriétaire"), "non renseigné")
        self.assertEqual(self.fiche("Type de logement"), "non renseigné")
        kinds = [e.find_element(By.TAG_NAME, "strong").text for e in events]
        self.assertEqual(kinds[0], "reçu")
        self.assertIn("livraison", kinds)
        self.assertNotIn("delivered", self.text())
        self.shot("lead")
        # Its explanation (lead explain): the run of its delivery, from what that run recorded.
        self.click(self.browser.find_element(By.ID, "lien-explication"))
        sentence = self.browser.find_element(By.ID, "phrase").text
        self.assertIn("a été livré à la commande " + self.ids["zr7_commande"], sentence)
        cells = [td.text for td in self.browser.find_elements(By.CSS_SELECTOR,
                                                              "main table tbody tr td")]
        self.assertEqual(cells[:4], ["fresh", self.ids["zr7_commande"], "solaire-sud",
                                     "attribuée"])
        explained = self.env.ctl_json("lead", "explain", self.ids["script_lead"])
        self.assertEqual(explained["resultat"], "livre")
        self.assertEqual(explained["commande"], self.ids["zr7_commande"])
        self.shot("explication")

    def test_05_reject(self):
        self.open("/leads/" + self.ids["script_lead"])
        Select(self.browser.find_element(By.NAME, "raison")).select_by_value("faux_numero")
        self.click(self.browser.find_element(By.CSS_SELECTOR, "#form-rejet button"))
        self.assertIn("Lead rejeté", self.text())
        self.assertEqual(self.env.ctl_json("lead", "show", self.ids["script_lead"])["statut"],
                         "rejected")
        self.assertEqual(self.fiche("Statut"), "rejeté")
        self.assertIn("raison faux numéro", self.browser.find_element(By.ID, "historique").text)
        self.shot("lead-rejete")
        self.open("/")
        stats = self.check_dashboard_equals_stats()
        zr7 = [e for e in stats["entities"] if e["entity"] == "ZR7"][0]
        self.assertEqual(zr7["days"][-1]["rejetes"], 1)
        # Rejected twice: rdzd's refusal is shown, nothing written.
        status, _, _ = self.http("POST", "/leads/%s/rejet" % self.ids["script_lead"],
                                 self.session_cookie(), {"raison": "autre"})
        self.assertEqual(status, 403)  # no CSRF token: refused before rdzd

    def test_06_resend_failed_batch(self):
        self.open("/livraisons")
        self.assertIn(self.ids["failed_batch"], self.text())
        row = self.browser.find_element(By.XPATH, "//tr[td/a[text()='%s']]" %
                                        self.ids["failed_batch"])
        self.assertIn("en échec", row.text)
        self.assertNotIn("failed", row.text)
        self.shot("livraisons")
        self.env.start_sink("mdl", self.env.mdl_port)
        row = self.browser.find_element(By.XPATH, "//tr[td/a[text()='%s']]" %
                                        self.ids["failed_batch"])
        self.click(row.find_element(By.CSS_SELECTOR, "button"))
        self.assertIn("renvoyé", self.text())
        wait_for(lambda: self.env.mails("mdl"), what="the resent batch's email")
        wait_for(lambda: any(b["id"] == self.ids["failed_batch"] and b["status"] == "sent"
                             for b in self.env.ctl_json("batch", "list")["batches"]),
                 what="the batch sent")
        self.open("/livraisons/" + self.ids["run"])
        self.assertIn("250", self.text())  # the SMTP server's answer, kept with the batch
        self.assertEqual(self.fiche("État"), "terminé")
        self.assertEqual(self.fiche("Entité"), "toutes")
        self.assertNotIn("{", self.text())  # no record shown as raw JSON
        self.shot("run")

    def test_07_dry_run(self):
        tomorrow = (paris_today() + datetime.timedelta(days=1)).isoformat()
        self.open("/livraisons/essai?date=" + tomorrow)
        self.assertIn("Essai du run", self.text())
        plan = self.env.ctl_json("deliver", "--date", tomorrow, "--dry-run")["run"]["plan"]
        rows = self.browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        self.assertEqual(len(rows), len(plan))
        self.shot("essai")

    def test_08_erase_with_confirmation(self):
        self.open("/effacement")
        self.browser.find_element(By.NAME, "telephone").send_keys("06 98 76 54 32")
        self.click(self.browser.find_element(By.CSS_SELECTOR, "main form button"))
        self.assertIn("1 lead(s) de ce numéro", self.browser.find_element(By.ID, "confirmation").text)
        self.assertFalse(self.env.ctl_json("lead", "show", self.ids["mdl_lead"])["efface"])
        self.shot("effacement-confirmation")
        self.click(self.browser.find_element(By.ID, "confirmer"))
        self.assertIn("1 lead(s) effacé(s)", self.text())
        self.assertTrue(self.env.ctl_json("lead", "show", self.ids["mdl_lead"])["efface"])

    def test_09_viewer_sees_no_form(self):
        password = self.env.ctl_json("user", "add", "paul", "--role", "viewer")["password"]
        viewer = new_browser()
        try:
            self.login(viewer, "paul", password)
            self.assertIn("lecture seule", self.text(viewer))
            pages = ["/", "/commandes", "/commandes/" + self.ids["zr7_commande"], "/clients",
                     "/clients/solaire-sud", "/leads", "/leads/" + self.ids["zr7_lead2"],
                     "/livraisons", "/livraisons/" + self.ids["run"], "/commandes/nouvelle",
                     "/clients/nouveau"]
            for path in pages:
                self.open(path, viewer)
                for form in viewer.find_elements(By.TAG_NAME, "form"):
                    # Only the search (GET) and logout forms: nothing that changes data.
                    action = form.get_attribute("action")
                    method = (form.get_attribute("method") or "get").lower()
                    self.assertTrue(method == "get" or action.endswith("/deconnexion"),
                                    "%s: a form to %s" % (path, action))
            self.shot("lecture-seule", viewer)
            cookie = self.session_cookie(viewer)
            csrf = viewer.find_element(By.NAME, "csrf").get_attribute("value")
            status, _, _ = self.http("POST", "/clients", cookie,
                                     {"csrf": csrf, "entity": "ZR7", "nom": "X", "emails": "x@y.fr"})
            self.assertEqual(status, 403)
        finally:
            viewer.quit()

    def test_10_entity_bound_user_never_sees_the_other(self):
        password = self.env.ctl_json("user", "add", "lea", "--role", "admin", "--entity",
                                     "ZR7")["password"]
        bound = new_browser()
        try:
            self.login(bound, "lea", password)
            self.assertEqual(bound.find_element(By.ID, "entites").text, "ZR7")
            for path in ["/clients", "/commandes", "/livraisons", "/?entite=MDL",
                         "/clients?entite=MDL", "/commandes?entite=MDL"]:
                self.open(path, bound)
                body = self.text(bound)
                self.assertNotIn("isol-ouest", body, path)
                self.assertNotIn(self.ids["mdl_commande"], body, path)
            self.shot("entite-zr7", bound)
            cookie = self.session_cookie(bound)
            for path in ["/clients/isol-ouest", "/commandes/" + self.ids["mdl_commande"],
                         "/leads/" + self.ids["mdl_lead"],
                         "/leads/%s/explication" % self.ids["mdl_lead"]]:
                status, _, page = self.http("GET", path, cookie)
                self.assertEqual(status, 404, path)
                for secret in ("Isol Ouest", "isol-ouest.example", "ITE", "20090"):
                    self.assertNotIn(secret, page, path)
            status, _, page = self.http("GET", "/clients/isol-ouest", cookie)
            self.assertIn("client inconnu : isol-ouest", page)
            status, _, page = self.http("GET", "/leads?q=0698765432", cookie)
            self.assertEqual(status, 200)
            self.assertIn("Aucun élément", page)
            self.assertNotIn(self.ids["mdl_lead"], page)
            # Its own entity works.
            self.open("/clients/solaire-sud", bound)
            self.assertIn("Solaire Sud", self.text(bound))
        finally:
            bound.quit()

    def test_11_post_without_csrf_is_403(self):
        cookie = self.session_cookie()
        status, _, _ = self.http("POST", "/clients", cookie,
                                 {"entity": "ZR7", "nom": "Sans jeton", "emails": "a@b.fr"})
        self.assertEqual(status, 403)
        status, _, _ = self.http("POST", "/clients", cookie,
                                 {"csrf": "0" * 64, "entity": "ZR7", "nom": "Faux jeton",
                                  "emails": "a@b.fr"})
        self.assertEqual(status, 403)
        clients = [c["nom"] for c in self.env.ctl_json("client", "list")["clients"]]
        self.assertNotIn("Sans jeton", clients)
        self.assertNotIn("Faux jeton", clients)
        # Logging out ends the session: the cookie no longer opens anything.
        self.open("/")
        self.click(self.browser.find_element(By.ID, "deconnexion"))
        self.assertTrue(self.browser.current_url.endswith("/connexion"))
        status, headers, _ = self.http("GET", "/clients", cookie)
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/connexion")
    def test_12_tls_off_loopback(self):
        # Off loopback without TLS: refused at start.
        r = subprocess.run([CONSOLE, "--listen", "0.0.0.0:0", "--socket", self.env.socket],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("without TLS", r.stderr)
        # With a certificate: HTTPS, and the session cookie is Secure.
        cert, key = (os.path.join(self.env.dir, n) for n in ("console.pem", "console.key"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.env.start("console-tls", [CONSOLE, "--listen", "127.0.0.1:0", "--socket",
                                       self.env.socket, "--tls_cert", cert, "--tls_key", key])
        log = os.path.join(self.env.dir, "console-tls.log")

        def listening():
            with open(log) as f:
                return re.search(r"listening on https://127\.0\.0\.1:(\d+)", f.read())
        url = "https://127.0.0.1:" + wait_for(listening, what="the TLS console").group(1)
        context = ssl.create_default_context(cafile=cert)
        with urllib.request.urlopen(url + "/connexion", context=context) as resp:
            page = resp.read().decode()
            login_cookie = resp.headers["Set-Cookie"]
        self.assertIn("Secure", login_cookie)
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf": token, "nom": "marie",
                                       "mot_de_passe": self.admin_password}).encode()
        req = urllib.request.Request(url + "/connexion", data=body, method="POST")
        req.add_header("Cookie", "rdz_login=" + token)
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                             self._NoRedirect)
        try:
            opener.open(req)
            self.fail("expected a redirect after the login")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 303)
            session = [c for c in e.headers.get_all("Set-Cookie") if c.startswith("rdz_session=")]
            self.assertEqual(len(session), 1)
            for flag in ("HttpOnly", "SameSite=Strict", "Secure"):
                self.assertIn(flag, session[0])

    def test_13_failed_logins_are_slowed(self):
        # Last: it slows this browser's address for a few seconds.
        intruder = new_browser()
        try:
            seen = []
            for _ in range(8):
                self.login(intruder, "intrus", "devine")
                seen.append(intruder.find_element(By.ID, "erreur").text)
                if "Trop de tentatives" in seen[-1]:
                    break
            self.assertEqual(seen[0], "Nom ou mot de passe incorrect.")
            self.assertRegex(seen[-1], r"^Trop de tentatives échouées : réessayez dans \d+ s\.$")
            self.shot("connexion-ralentie", intruder)
        finally:
            intruder.quit()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
