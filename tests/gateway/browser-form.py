#!/usr/bin/python3
"""A landing page's HTML form, posted by a real browser to rdz-gateway (tests/gateway).

Serves the landing pages with Python's http.server on 127.0.0.1:--page-port and has headless
Chromium (Debian's chromium + chromium-driver, through python3-selenium) fill and submit each
form as a person would (typing, ticking the consent box, clicking the button):

  merci   the form names an allowed thank-you page (merci_url): the browser should land on it
  evil    the form names a page that is not allowed: ignored, the gateway's "Merci" page
  bot     a robot fills the hidden honeypot field too: answered as if accepted
  plain   no merci_url, and no referrer policy: the browser sends only the page's origin

Prints one JSON object on stdout: {"user_agent": navigator.userAgent, "cases": {name: {"page",
"final", "title", "back"}}} where `final` is the URL the browser ended on and `back` the link of
the "Merci" page ("" when none).
"""

import argparse
import functools
import html
import http.server
import json
import os
import sys
import tempfile
import threading

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">{policy}<title>Panneaux solaires</title></head>
<body>
<h1>Votre étude solaire gratuite</h1>
<form method="post" action="{action}">
  <input type="hidden" name="produit" value="PV">
  <label>Nom <input name="nom" id="nom"></label>
  <label>Prénom <input name="prenom" id="prenom"></label>
  <label>Téléphone <input name="telephone" id="telephone" type="tel"></label>
  <label>Code postal <input name="code_postal" id="code_postal"></label>
  <label><input type="checkbox" name="consentement" value="oui" id="consentement">
    J'accepte d'être rappelé au sujet de mon projet.</label>
  <input type="hidden" name="consentement_texte"
         value="J'accepte d'être rappelé au sujet de mon projet.">
  {merci}
  <div style="position:absolute;left:-10000px" aria-hidden="true">
    <label>Site web <input name="site_web" id="site_web" tabindex="-1" autocomplete="off"></label>
  </div>
  <button type="submit" id="envoyer">Envoyer</button>
</form>
</body></html>
"""

THANKS = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Merci de la page</title></head>
<body><p>Merci, nous vous rappelons très vite.</p></body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--page-port", type=int, required=True)
    parser.add_argument("--phones", required=True, help="merci,evil,bot,plain phones")
    parser.add_argument("--evil-url", required=True, help="a thank-you page not allowed")
    args = parser.parse_args()
    phones = dict(zip(["merci", "evil", "bot", "plain"], args.phones.split(",")))
    origin = f"http://127.0.0.1:{args.page_port}"
    action = args.gateway + "/v1/leads/zr7"
    full_referrer = '<meta name="referrer" content="no-referrer-when-downgrade">'

    with tempfile.TemporaryDirectory() as root:
        pages = {
            "merci": (full_referrer, f"{origin}/merci.html"),
            "evil": (full_referrer, args.evil_url),
            "bot": (full_referrer, f"{origin}/merci.html"),
            "plain": ("", None),
        }
        for name, (policy, merci) in pages.items():
            field = ""
            if merci is not None:
                field = f'<input type="hidden" name="merci_url" value="{html.escape(merci)}">'
            with open(os.path.join(root, f"form-{name}.html"), "w", encoding="utf-8") as f:
                f.write(PAGE.format(policy=policy, action=html.escape(action), merci=field))
        with open(os.path.join(root, "merci.html"), "w", encoding="utf-8") as f:
            f.write(THANKS)

        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", args.page_port), functools.partial(QuietHandler, directory=root))
        threading.Thread(target=server.serve_forever, daemon=True).start()

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", f"--user-data-dir={root}/profile"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        result = {"cases": {}}
        try:
            for name in ["merci", "evil", "bot", "plain"]:
                page = f"{origin}/form-{name}.html"
                driver.get(page)
                result["user_agent"] = driver.execute_script("return navigator.userAgent")
                driver.find_element(By.ID, "nom").send_keys("Lefèvre")
                driver.find_element(By.ID, "prenom").send_keys("Élodie")
                driver.find_element(By.ID, "telephone").send_keys(phones[name])
                driver.find_element(By.ID, "code_postal").send_keys("33000")
                driver.find_element(By.ID, "consentement").click()
                if name == "bot":  # a robot fills every input, the hidden ones too
                    driver.execute_script(
                        "document.getElementById('site_web').value = 'http://spam.example/'")
                driver.find_element(By.ID, "envoyer").click()
                WebDriverWait(driver, 30).until(
                    lambda d: d.current_url != page
                    and d.execute_script("return document.readyState") == "complete")
                links = driver.find_elements(By.TAG_NAME, "a")
                result["cases"][name] = {
                    "page": page,
                    "final": driver.current_url,
                    "title": driver.title,
                    "back": links[0].get_attribute("href") if links else "",
                }
        finally:
            driver.quit()
            server.shutdown()
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
