#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds, starts rdzd in
# ./rdz-data (tokens generated on first start) and a local SMTP sink on 127.0.0.1:2525 writing to
# ./rdz-data/mail, creates sample clients and commandes, submits sample leads, runs a delivery
# and prints the emails the sink received; starts the web console on http://127.0.0.1:8090/ and
# prints a user and password for it. rdzd and the console stay running afterwards;
# `tools/demo.sh stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="$root/rdz-data"
rdzctl="$root/build/client/rdzctl"

stop() {
  for name in console rdzd smtp; do
    if [ -f "$data/$name.pid" ]; then
      pid=$(cat "$data/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$data/$name.pid"
    fi
  done
}
if [ "${1:-}" = stop ]; then stop; echo "stopped"; exit 0; fi

# Whether something listens on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

tools/install-deps.sh
tools/build.sh
stop
# The embedded default's ports: taken by another program (another checkout's demo, a console),
# this demo would talk to it or fail half-way. Said, and nothing is started or stopped.
for port in 2525 8090; do
  if listening "$port"; then
    echo "demo: 127.0.0.1:$port is already in use by another program (another demo or" \
         "console?); stop it, or run the demo elsewhere. Nothing was started." >&2
    exit 1
  fi
done
mkdir -p "$data" && chmod 700 "$data"

# The SMTP sink that the embedded default's entities send to (Maildir in rdz-data/mail).
setsid /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox \
  "$data/mail" >"$data/smtp.log" 2>&1 < /dev/null &
echo $! > "$data/smtp.pid"
for _ in $(seq 1 100); do listening 2525 && break; sleep 0.1; done

setsid "$root/build/daemon/rdzd" >>"$data/rdzd.log" 2>&1 < /dev/null &
echo $! > "$data/rdzd.pid"
for _ in $(seq 1 100); do
  [ -S "$data/rdzd.sock" ] && "$rdzctl" client list >/dev/null 2>&1 && break
  sleep 0.1
done

say() { printf '\n$ rdzctl %s\n' "$*"; "$rdzctl" "$@"; }
if ! "$rdzctl" client show solaire-sud >/dev/null 2>&1; then
  say client add --entity ZR7 --id solaire-sud --nom "Solaire Sud" --email commandes@solaire-sud.example
  say commande add --client solaire-sud --produit PV --quota-semaine 20 --departements 33,40,64 --priorite 2
  say client add --entity MDL --id isol-ouest --nom "Isol Ouest" --email leads@isol-ouest.example
  say commande add --client isol-ouest --produit ITE --quota-semaine 10 --fallback oui
fi
say lead submit --entity ZR7 produit=PV nom=Dupont prenom=Jeanne "telephone=06 12 34 56 78" \
  code_postal=33000 ville=Bordeaux proprietaire=oui type_logement=maison consentement=oui
say lead submit --entity MDL produit=ITE nom=Lefèvre prenom=Hélène telephone=+33698765432 \
  code_postal=20090 consentement=true email=helene@exemple.fr
say lead submit --entity ZR7 produit=PAC nom=Sans prenom=Consentement telephone=0123 code_postal=99000
say lead find --phone 0612345678
say commande list
# Today's run with "now" as its reference time (not 09:30), so the leads just received take
# part. Once done, a run is never allocated again: a second demo the same day shows the first.
say deliver --at "$(date -d "+2 seconds" --iso-8601=seconds)" || true
say batch list

# The web console, and a person to log in with (a new password at each demo: rdzd keeps only
# its hash).
setsid "$root/build/tools/rdz-console" >>"$data/console.log" 2>&1 < /dev/null &
echo $! > "$data/console.pid"
for _ in $(seq 1 100); do listening 8090 && break; sleep 0.1; done
if ! listening 8090; then
  echo "demo: the console did not start; its log (rdz-data/console.log):" >&2
  tail -n 20 "$data/console.log" >&2
  exit 1
fi
if "$rdzctl" user list | grep -q '^demo '; then
  password=$("$rdzctl" --json user set demo --password | sed 's/.*"password":"\([^"]*\)".*/\1/')
else
  password=$("$rdzctl" --json user add demo --role admin | sed 's/.*"password":"\([^"]*\)".*/\1/')
fi

echo
echo "What the SMTP sink received (rdz-data/mail/new):"
/usr/bin/python3 - "$data/mail/new" <<'PY'
import email, email.policy, os, sys
folder = sys.argv[1]
for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
    with open(os.path.join(folder, name), 'rb') as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    print('\n--- To: %s | Subject: %s | Message-ID: %s' % (msg['To'], msg['Subject'], msg['Message-ID']))
    for part in msg.iter_parts():
        if part.get_filename():
            print('  attachment %s:' % part.get_filename())
            for line in part.get_payload(decode=True).decode('utf-8-sig').splitlines():
                print('    ' + line)
PY

cat <<TXT

rdzd is running on the embedded default (data and logs in ./rdz-data, socket
./rdz-data/rdzd.sock, SMTP sink on 127.0.0.1:2525 writing to ./rdz-data/mail; the emails are
plain files there, the CSVs open in Excel).
The web console:  http://127.0.0.1:8090/
  name:     demo
  password: $password
(an admin of both entities; \`build/client/rdzctl user add NAME --role viewer\` adds others)

Try, from this directory:
  build/client/rdzctl --help
  build/client/rdzctl lead submit --entity ZR7 produit=PV nom=Nom prenom=Prénom telephone=0611223344 code_postal=40100 consentement=oui
  build/client/rdzctl --json lead show ID
Stop everything with: tools/demo.sh stop
TXT
