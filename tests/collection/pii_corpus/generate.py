"""Write ``corpus.jsonl``: labelled PII snippets and clean look-alikes (see README.md).

Run ``python tests/collection/pii_corpus/generate.py`` from the repository root; the
output is the same on every run (fixed seed, no clock).  Spans are written with
``⟦LABEL|value⟧`` markers in the templates and turned into offsets here, so the
labelled text is the text a person would type.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban

HERE = Path(__file__).resolve().parent
rng = random.Random(20261130)
_MARK = re.compile(r"⟦([A-Z]+)\|(.*?)⟧", re.S)


def parse(marked: str) -> dict:
    text, spans, position = [], [], 0
    for match in _MARK.finditer(marked):
        text.append(marked[position : match.start()])
        start = sum(len(t) for t in text)
        text.append(match.group(2))
        spans.append({"start": start, "end": start + len(match.group(2)), "label": match.group(1)})
        position = match.end()
    text.append(marked[position:])
    return {"text": "".join(text), "spans": spans}


def m(label: str, value: str) -> str:
    return f"⟦{label}|{value}⟧"


def luhn_complete(prefix_and_body: str) -> str:
    digits = prefix_and_body + "0"
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return prefix_and_body + str((10 - total % 10) % 10)


def card(prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def group(number: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(number[i : i + size])
        i += size
    if i < len(number):
        out.append(number[i:])
    return sep.join(p for p in out if p)


CARD_BRANDS = [
    ("Visa", ["4"], 16, [4, 4, 4, 4]),
    ("Mastercard", ["51", "53", "55", "2221", "2720"], 16, [4, 4, 4, 4]),
    ("Amex", ["34", "37"], 15, [4, 6, 5]),
    ("Discover", ["6011", "65"], 16, [4, 4, 4, 4]),
    ("JCB", ["3528", "3589"], 16, [4, 4, 4, 4]),
    ("Diners", ["36", "38"], 14, [4, 6, 4]),
    ("UnionPay", ["62"], 19, [4, 4, 4, 4, 3]),
    ("Maestro", ["6759"], 18, [4, 4, 4, 4, 2]),
]
CARD_TEMPLATES = [
    "card {} exp 09/28",
    "my {brand} is {} cvv on the back",
    "charge it to {} please",
    "Karte: {} gültig bis 12/27",
    "numéro de carte {}",
    "{}",
    "pay with {}, thanks",
    "cc#{}",
]


def cards() -> list[str]:
    out = []
    for brand, prefixes, length, sizes in CARD_BRANDS:
        for sep in ["", " ", "-", ".", " - "]:
            number = card(rng.choice(prefixes), length)
            shown = group(number, sizes, sep) if sep else number
            template = rng.choice(CARD_TEMPLATES)
            out.append(template.replace("{brand}", brand).replace("{}", m("CARD", shown)))
    return out


IBAN_BBAN = {
    # country: BBAN pattern (n digits, a upper letters, c alphanumerics)
    "DE": "18n",
    "FR": "10n11c2n",
    "GB": "4a14n",
    "ES": "20n",
    "IT": "1a10n12c",
    "NL": "4a10n",
    "BE": "12n",
    "AT": "16n",
    "CH": "5n12c",
    "PL": "24n",
    "SE": "20n",
    "NO": "11n",
    "DK": "14n",
    "FI": "14n",
    "IE": "4a14n",
    "PT": "21n",
    "LU": "3n13c",
    "CZ": "20n",
    "HU": "24n",
    "RO": "4a16c",
}


def bban(pattern: str) -> str:
    out = []
    for count, kind in re.findall(r"(\d+)([nac])", pattern):
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}[kind]
        out.append("".join(rng.choice(pool) for _ in range(int(count))))
    return "".join(out)


def make_iban(country: str) -> str:
    for _ in range(1000):
        body = bban(IBAN_BBAN[country])
        check = stdnum_iban.calc_check_digits(country + "00" + body)
        candidate = country + check + body
        if stdnum_iban.is_valid(candidate):
            return candidate
    raise RuntimeError(country)


IBAN_TEMPLATES = [
    "IBAN {} bitte bis Freitag überweisen",
    "please wire it to {} and confirm by email",
    "{}",
    "compte {} merci",
    "rekening {} graag voor maandag",
    "transfer to {} ref invoice 2291",
    "iban: {}.",
]


def ibans() -> list[str]:
    out = []
    for country in IBAN_BBAN:
        for grouped in (False, True):
            value = make_iban(country)
            if grouped:
                value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
            out.append(rng.choice(IBAN_TEMPLATES).replace("{}", m("IBAN", value)))
    return out


PHONE_REGIONS = [
    "US",
    "GB",
    "FR",
    "DE",
    "SE",
    "AT",
    "IE",
    "JP",
    "IL",
    "ES",
    "IT",
    "NL",
    "CH",
    "AU",
    "IN",
    "BR",
    "CA",
    "PL",
]
PHONE_TEMPLATES = [
    "call me on {}",
    "my number is {}",
    "Tel. {}",
    "ring {} after 6",
    "{}",
    "appelle-moi au {}",
    "ruf mich an: {}",
    "mobile {}, office closed",
    "whatsapp {}",
]


def valid_phone(region: str, kind) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    national = str(example.national_number)
    for _ in range(500):
        keep = max(2, len(national) - 5)
        candidate = national[:keep] + "".join(rng.choice(string.digits) for _ in range(len(national) - keep))
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number):
            return number
    return example


def phones() -> list[str]:
    fmt = phonenumbers.PhoneNumberFormat
    out = []
    for region in PHONE_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = valid_phone(region, kind)
            shown = [
                phonenumbers.format_number(number, fmt.INTERNATIONAL),
                phonenumbers.format_number(number, fmt.E164),
                phonenumbers.format_number(number, fmt.RFC3966),
            ]
            if region in ("US", "GB", "FR", "DE", "SE", "IE", "JP", "IL", "AU", "CA"):
                # National formats are what people type at home; they need the country to read.
                shown.append(phonenumbers.format_number(number, fmt.NATIONAL))
            for value in rng.sample(shown, 2):
                # In a tel: URI the scheme is not personal data; the number is.
                marked = "tel:" + m("PHONE", value[4:]) if value.startswith("tel:") else m("PHONE", value)
                out.append(rng.choice(PHONE_TEMPLATES).replace("{}", marked))
    # Forms people type that no formatter produces.
    extra = [
        "call " + m("PHONE", "07700 900123") + " tonight",
        "my mobile is " + m("PHONE", "07911123456"),
        "Tel: " + m("PHONE", "+44 7911 123456"),
        m("PHONE", "+33612345678") + " c'est mon portable",
        "appelez le " + m("PHONE", "01 42 68 53 00"),
        "ring " + m("PHONE", "+46 8 123 456 78"),
        "Telefon " + m("PHONE", "+43 1 5123456"),
        "call " + m("PHONE", "+353 1 234 5678"),
        "電話 " + m("PHONE", "+81 3-1234-5678"),
        "call " + m("PHONE", "+972 2-123-4567"),
        "link tel:" + m("PHONE", "+1-202-555-0143"),
        "phone " + m("PHONE", "(415) 555-2671"),
        "call " + m("PHONE", "415.555.2671"),
        "reach me at " + m("PHONE", "+1 415 555 2671") + " or email",
        "Handy " + m("PHONE", "0151 23456789"),
        "Mobil: " + m("PHONE", "+49 151 23456789"),
        "tel " + m("PHONE", "+39 06 6982 1234"),
        "ring " + m("PHONE", "+31 20 123 4567"),
    ]
    return out + extra


SSN_TEMPLATES = [
    "SSN {}",
    "my social security number is {}",
    "SSN: {} dob 1984",
    "social security no. {}",
    "ssn#{}",
    "Employee SSN = {}",
]


def ssns() -> list[str]:
    out = []
    for sep in ["-", " ", "", "-", "", " "]:
        for _ in range(5):
            area = rng.choice([n for n in range(1, 900) if n != 666])
            value = f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"
            out.append(rng.choice(SSN_TEMPLATES).replace("{}", m("SSN", value)))
    return out


def ips() -> list[str]:
    templates = ["ssh into {}", "server {} is down", "from {} at 10:42", "allow {}/32 in the firewall", "ping {}"]
    out = []
    for _ in range(16):
        octets = [rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)]
        out.append(rng.choice(templates).replace("{}", m("IP", ".".join(map(str, octets)))))
    for _ in range(10):
        groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        full = ":".join(groups)
        compressed = "2001:db8:" + ":".join(groups[2:4]) + "::" + groups[7]
        out.append(rng.choice(templates).replace("{}", m("IP", rng.choice([full, compressed]))))
    out += [
        "host " + m("IP", "fe80::1ff:fe23:4567:890a") + " link-local",
        "dns " + m("IP", "2606:4700:4700::1111"),
        "gateway " + m("IP", "192.168.1.1"),
        "client " + m("IP", "::ffff:203.0.113.7"),
    ]
    return out


FIRST = ["anna", "jean.dupont", "m.schmidt", "li.wei", "o'brien", "sara_k", "j.doe+invoices", "x"]
DOMAINS = ["example.com", "mail.example.co.uk", "uni-hamburg.de", "corp.example", "gmail.com", "société.fr"]


def emails() -> list[str]:
    templates = ["write to {}", "cc {} on this", "{}", "contact: {}.", "<{}>", "mailto:{}"]
    out = []
    for _ in range(20):
        local = rng.choice(FIRST).replace("'", "")
        domain = rng.choice(DOMAINS[:5])
        out.append(rng.choice(templates).replace("{}", m("EMAIL", f"{local}{rng.randint(1, 99)}@{domain}")))
    return out


def rand(pool: str, n: int) -> str:
    return "".join(rng.choice(pool) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


def jwt() -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = part({"alg": "HS256", "typ": "JWT"})
    body = part({"sub": str(rng.randint(1, 10**6)), "iat": 1700000000 + rng.randint(0, 10**6)})
    return f"{head}.{body}.{rand(ALNUM + '-_', 43)}"


def pem(kind: str) -> str:
    lines = "\n".join(rand(B64, 64) for _ in range(3))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def secrets() -> list[str]:
    tokens = [
        "ghp_" + rand(ALNUM, 36),
        "gho_" + rand(ALNUM, 36),
        "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59),
        "glpat-" + rand(ALNUM + "-_", 20),
        "hf_" + rand(string.ascii_letters, 34),
        "SG." + rand(ALNUM + "-_", 22) + "." + rand(ALNUM + "-_", 43),
        "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 13) + "-" + rand(ALNUM, 24),
        "xoxp-" + rand(string.digits, 12) + "-" + rand(string.digits, 12) + "-" + rand(ALNUM, 32),
        "sk_live_" + rand(ALNUM, 24),
        "rk_live_" + rand(ALNUM, 24),
        "sk_test_" + rand(ALNUM, 24),
        "AKIA" + rand(string.ascii_uppercase + "234567", 16),
        "sk-proj-" + rand(ALNUM + "-_", 48),
        "AIza" + rand(ALNUM + "-_", 35),
        jwt(),
        jwt(),
    ]
    templates = ["token {}", "here is the key: {} don't share", "{}", "export TOKEN={}", "curl -H 'X-Api-Key: {}'"]
    out = [rng.choice(templates).replace("{}", m("SECRET", t)) for t in tokens]
    out.append("AccountKey=" + m("SECRET", rand(B64, 86) + "=="))
    out.append("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + m("SECRET", rand(B64, 86) + "==") + ";")
    out.append(
        "https://hooks.slack.com/services/" + m("SECRET", f"T{rand(ALNUM, 8)}/B{rand(ALNUM, 8)}/{rand(ALNUM, 24)}")
    )
    for kind in ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]:
        out.append("key:\n" + m("SECRET", pem(kind)) + "\nthanks")
    out.append(m("SECRET", pem("PGP PRIVATE KEY BLOCK")))
    out.append("see below\n" + m("SECRET", pem("PGP PRIVATE KEY BLOCK")))
    words = ["correct", "horse", "battery", "staple", "orange", "river", "tiger", "lamp", "Sonne", "Mond"]
    passwords = [
        lambda: rand(ALNUM, 10),
        lambda: rand(ALNUM + "!#%&*", 12),
        lambda: rng.choice(words).capitalize() + str(rng.randint(10, 99)) + "!",
    ]
    labels = [
        "password: {}",
        "Password = {}",
        "passwort: {}",
        "Passwort ist {}",
        "mot de passe : {}",
        "mot de passe: {}",
        "kennwort {}",
        "Kennwort: {}",
        "contraseña: {}",
        "senha: {}",
        "wachtwoord: {}",
        "hasło: {}",
        "lösenord: {}",
        "pw: {}",
        "pass: {}",
        "pwd={}",
        "DB_PASSWORD={}",
        "MYSQL_ROOT_PASSWORD={}",
        "POSTGRES_PASSWORD: {}",
        "aws_secret_access_key = {}",
        "client_secret={}",
        "api_key: {}",
        '"password": "{}"',
        '{{"user": "ops", "password": "{}"}}',
        "password: '{}'",
        "  password: {}",
        "my password is {}",
        "the wifi password is {}",
        "PIN: {}",
        "passcode {}",
    ]
    for label in labels:
        value = rand(B64, 40) if "aws_secret" in label else rng.choice(passwords)()
        if label == "PIN: {}":
            value = str(rng.randint(1000, 9999))
        out.append(label.replace("{{", "{").replace("}}", "}").replace("{}", m("SECRET", value)))
    for label in ["password: {}", "passphrase: {}", "Passwort: {}", "wifi password is {}"]:
        phrase = " ".join(rng.sample(words, 4))
        out.append(label.replace("{}", m("SECRET", phrase)))
    for scheme in ["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp", "https", "ftp"]:
        pw = rand(ALNUM, 14)
        out.append(f"{scheme}://app_user:" + m("SECRET", pw) + f"@db{rng.randint(1, 9)}.internal:5432/main")
    out.append("Authorization: Bearer " + m("SECRET", rand(ALNUM + "-._", 40)))
    out.append("curl -H 'Authorization: Bearer " + m("SECRET", jwt()) + "' https://api.example.com")
    out.append("authorization: bearer " + m("SECRET", rand(ALNUM, 32)))
    out.append("Authorization: Basic " + m("SECRET", base64.b64encode(b"admin:s3cr3t-Pa55").decode()))
    return out


HANDWRITTEN = [
    "Hi team, the new hire's SSN is " + m("SSN", "078-05-1120") + " — please don't forward this.",
    "Refund to " + m("CARD", "4242 4242 4242 4242") + " approved, ref #88213",
    "Ping me at " + m("EMAIL", "priya.n@example.org") + " or " + m("PHONE", "+44 20 7946 0958"),
    "Wire " + m("IBAN", "DE89 3704 0044 0532 0130 00") + " by Friday; amount 1,250.00 EUR",
    "prod db: " + "postgres://admin:" + m("SECRET", "Zq8!vR2#pLm") + "@10.2.3.4:5432/app",
    "ssh deploy@" + m("IP", "203.0.113.45") + " -p 2222",
    "export GITHUB_TOKEN=" + m("SECRET", "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"),
    "new wifi: SSID Office5G, password " + m("SECRET", "Sunflower-2026"),
    "Mon numéro: " + m("PHONE", "06 12 34 56 78") + ", mon mail " + m("EMAIL", "claire.martin@example.fr"),
    "Meine Nummer ist " + m("PHONE", "+49 30 901820") + " und Passwort: " + m("SECRET", "Blumen#Topf7"),
    "Ring " + m("PHONE", "08-123 456 78") + " (Stockholm office)",
    "Sorry, card declined: " + m("CARD", "5555555555554444") + ". Try Amex " + m("CARD", "3782 822463 10005"),
    "The VPN endpoint is " + m("IP", "2001:db8:4006:812::200e") + " port 443",
    "aws_access_key_id = " + m("SECRET", "AKIAIOSFODNN7EXAMPLE"),
    "aws_secret_access_key = " + m("SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "HF token for the model: " + m("SECRET", "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"),
    "my ssn is " + m("SSN", "219099999") + " for the payroll form",
    "SSN " + m("SSN", "536 22 8726") + " - verified",
    "Contraseña: " + m("SECRET", "Gato.Negro.88") + " (cambiarla luego)",
    "A senha do wifi é senha: " + m("SECRET", "praia2026!"),
    "login jdoe / pw: " + m("SECRET", "Winter2026!"),
    "Call " + m("PHONE", "+1 (212) 555-0198") + " re: invoice INV-2026-00042",
    "IBAN " + m("IBAN", "FR14 2004 1010 0505 0001 3M02 606") + " please",
    "Send to " + m("IBAN", "GB29NWBK60161331926819") + " thanks a lot",
    "visa " + m("CARD", "4111.1111.1111.1111") + " exp 04/29",
    "SENDGRID_API_KEY=" + m("SECRET", "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"),
    "redis://:" + m("SECRET", "r3d1sP@ss") + "@cache.internal:6379/0",
    "CLIENT_IP=" + m("IP", "198.51.100.23"),
    "tel:" + m("PHONE", "+33142685300"),
    "ring " + m("PHONE", "+353 87 123 4567") + " when you land",
    # A second hand-written batch: how people paste things into chat, mail and terminals.
    "Tél : " + m("PHONE", "+33 (0)1 42 68 53 00") + " (standard)",
    "UK office " + m("PHONE", "+44 (0)20 7946 0958") + ", ask for Sam",
    "From abroad dial " + m("PHONE", "0044 20 7946 0958"),
    "携帯 " + m("PHONE", "090-1234-5678"),
    "Mobil " + m("PHONE", "+43 664 1234567") + " bitte nur SMS",
    "נייד " + m("PHONE", "050-123-4567"),
    "Stockholm: " + m("PHONE", "08-123 456 78") + " vx",
    "Dublin " + m("PHONE", "(01) 234 5678"),
    "my cell is " + m("PHONE", "4155552671"),
    "Mum's number " + m("PHONE", "07700 900 461"),
    "Sydney office " + m("PHONE", "(02) 9876 5432"),
    "mobile " + m("PHONE", "+91 98765 43210"),
    "iban " + m("IBAN", "de89 3704 0044 0532 0130 00") + " danke",
    "IBAN: " + m("IBAN", "NL91ABNA0417164300") + ", BIC ABNANL2A",
    "Überweisung an " + m("IBAN", "AT61 1904 3002 3457 3201") + " Verwendungszweck Miete",
    "card no " + m("CARD", "5500 0000 0000 0004") + " exp 11/27 cvc 123",
    "Amex " + m("CARD", "3714 496353 98431") + " on file",
    "SSN:" + m("SSN", "078051120"),
    "social security number " + m("SSN", "078 05 1120"),
    "PIN " + m("SECRET", "4821") + " for the door",
    "NPM_TOKEN=" + m("SECRET", "npm_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"),
    "DJANGO_SECRET_KEY=" + m("SECRET", "django-insecure-7x!k2@p9#q"),
    "Das Passwort ist " + m("SECRET", "Sommer2026"),
    "le mot de passe est " + m("SECRET", "soleil42"),
    'password="' + m("SECRET", "hunter2") + '"',
    "secret_key: '" + m("SECRET", "abc123def456") + "'",
    "  - MONGO_INITDB_ROOT_PASSWORD=" + m("SECRET", "Str0ngMongo!"),
    "ldap bind pw= " + m("SECRET", "Bind#2026"),
    "smtp://mailer:" + m("SECRET", "m41l3rPw") + "@smtp.example.com:587",
    "Authorization: token " + m("SECRET", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    "ssh admin@" + m("IP", "192.168.10.254"),
    # 0.0.0.0 is "every interface", no one's address: not labelled.
    "bind 0.0.0.0? no, use " + m("IP", "172.16.4.20"),
    "IPv6 [" + m("IP", "2001:db8::1") + "]:443",
    "ip " + m("IP", "192.168.0.1") + ":8080",
    # A third batch: labels with a "for …" part, CLI credentials, webhooks, unicode mail.
    "wifi password for guests: " + m("SECRET", "Blue-Lake-77"),
    "Passwort für den Router: " + m("SECRET", "Xy9!abc#"),
    "mot de passe du compte : " + m("SECRET", "soleil42"),
    "password for " + m("EMAIL", "jane@example.com") + ": " + m("SECRET", "Hunter22"),
    "curl -u admin:" + m("SECRET", "S3cret!") + " https://api.example.com/v1",
    "curl --user 'ci:" + m("SECRET", "tok3nV4lue") + "' -X POST",
    "SLACK_APP_TOKEN=" + m("SECRET", "xapp-1-A0123456789-1234567890123-abcdef0123456789"),
    "webhook secret " + m("SECRET", "whsec_5Tq9Lm2Xr8Vb1Nc7Kd4Hs6Jf3G"),
    "mail " + m("EMAIL", "jörg.müller@beispiel.de") + " bitte",
    "Tel.: " + m("PHONE", "+41 44 668 18 00"),
    "ring " + m("PHONE", "+1-800-555-0199") + " (toll free)",
    "the pin code is " + m("SECRET", "4821"),
    "VPN " + m("IP", "10.8.0.1") + " gateway",
    "Nummer: " + m("PHONE", "+49 89 1234567") + ", Passwort: " + m("SECRET", "Hund&Katze9"),
    "SSN " + m("SSN", "123-45-6789") + ", DOB 1990-01-01",
    "card " + m("CARD", "4000 0566 5566 5556") + " (debit)",
    "IBAN " + m("IBAN", "BE71 0961 2345 6769") + " — merci",
    "ping " + m("IP", "2001:4860:4860::8888"),
]

CLEAN = [
    "meeting at 12:30:45 on 2026-11-23",
    "deadline 2026-12-01T17:00:00Z",
    "logged at 2026-11-30 05:38:55.123456",
    "timestamp 1732953535 in the log",
    "epoch ms 1732953535123",
    "reverse it with s[::-1]",
    "use arr[1:-1] and arr[::2]",
    "numpy a[:, ::-1]",
    "version 1.2.3 has 42 items",
    "upgrade to 10.4.12.3 tonight",
    "see section 4.2.1.3 of the spec",
    "Python 3.11.9 and Django 5.2.19",
    "chrome 131.0.6778.86 is out",
    "invoice INV-2026-004217 is overdue",
    "invoice number 20261130001 attached",
    "order #112-7654321-1234567 shipped",
    "order id 4000123456789 on hold",
    "password is too short",
    "the password must contain a digit",
    "the token expired",
    "token expired at 12:00",
    "secret santa is on friday",
    "API key rotation is scheduled",
    "colour #ff8800 and #1e90ff",
    "fixed in commit 3f2a9c1b7e4d5a6f8091a2b3c4d5e6f708192a3b",
    "cherry-pick a1b2c3d onto main",
    "request id 123e4567-e89b-12d3-a456-426614174000",
    "uuid f47ac10b-58cc-4372-a567-0e02b2c3d479 not found",
    "total: 1,234,567.89 USD",
    "price 4,999.00 EUR",
    "ratio 3:2:1 works",
    "score 10:8 at half time",
    "the pass was long",
    "ticket 123456",
    "PR #4821 merged",
    "ISBN 978-3-16-148410-0",
    "call the function with n=42",
    "zip code 75001",
    "latency p99 764 ms, p50 505 ms",
    "999.1.1.1 is no address",
    "port 8080:80 mapping",
    "docker run -p 5432:5432 postgres:16",
    "lines 120-180 of README.md",
    "between 2024-01-01 and 2024-12-31",
    "page 12 of 340",
    "temperature 21.5°C at 07:15",
    "a ratio of 16:9",
    "MAC address is hidden",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "build 20261130.4 passed",
    "node v20.11.1 npm 10.2.4",
    "call stack depth 1024",
    "weights = [0.1, 0.2, 0.7]",
    "the flight LH 2024 leaves 06:45",
    "Kennwort vergessen? Hier klicken",
    "mot de passe oublié",
    "enter your password below",
    "passwords must match",
    "token count: 2048",
    "the pin is in the drawer",
    "gps 48.8566, 2.3522",
    "1/2 cup sugar, 3/4 cup flour",
    "£1,200 per month",
    "room 4.12 building B",
    "table 3.1 shows the figures",
    "rfc 6962 section 2.1",
    "run 1 of 10000",
    "ext. 4521",
    "phase 2: 12 of 15 done",
    "00:00:00.000",
    "fn(a, b)::<T>",
    "std::vector<int>::iterator",
    "a == b != c",
    "x = y[::3]",
    "copy ~/.ssh/config",
    "2026/11/30 05:38",
    "30.11.2026 um 14:00",
    "11/30/2026",
    "Q3 2026 revenue 12.4M",
    "ABC-1234-XYZ",
    "SKU 8806098154273",
    "tracking 1Z999AA10123456784",
    "https://example.com/docs/v2/3.4.1",
    "release 2026.11.1",
    "OpenSSL 3.0.13 30 Jan 2024",
    "kernel 6.8.0-45-generic",
    "Transaction 2291 of 2026-11-30",
    "my passion is too strong",
    "pass the salt please",
    "passwords must be at least 12 characters",
    "forgot password? reset it here",
    "mot de passe incorrect",
    "the PIN code has 4 digits",
    "your token is invalid",
    "call me tomorrow at 10:30",
    "meeting 10:30-11:45 in room 2.14",
    "Preis 1.234,56 €",
    "30/11/2026 14:00",
    "PO 4500012345 approved",
    "Bestellnr. 1234567890",
    "tracking 9400111899223397846292",
    "chmod 0755 deploy.sh",
    "HTTP 404 at /api/v1/items/12345",
    "error code 0x80070005",
    "id: 64f1c2a9e4b0a1b2c3d4e5f6",
    "sleep(1000); retry(3)",
    "at 99.9% uptime over 365 days",
    "Kubernetes 1.29.3-gke.1093000",
    "the 2026-11-30T05:38:55+01:00 entry",
    "lat/long 52.5200, 13.4050",
    "bitrate 320 kbps, 44.1 kHz",
    "the password for the account is reset weekly",
    "password for the new account must be long",
    "curl -X POST https://api.example.com/v1/items",
    "see RFC 3339 and ISO 8601: 2026-11-30T05:38:55Z",
    "git log --since=2026-11-01 --until=2026-11-30",
    "matrix[i][j] = m[::-1][0]",
    "x = a if b else c  # 3:1 odds",
    "semver ^4.17.21 || ~5.0.0",
    "route 10/8 via the office link",
    "the card was declined twice",
    "IBAN and BIC fields are required",
    "enter your phone number to continue",
    "social security is a public programme",
    "passport renewal next month",
]


def clean_generated() -> list[str]:
    out = []
    for _ in range(40):
        out.append(
            f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        )
    for _ in range(25):
        out.append(f"v{rng.randint(0, 20)}.{rng.randint(0, 40)}.{rng.randint(0, 300)}.{rng.randint(0, 999)} released")
    for _ in range(20):
        out.append(f"see §{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 20)}.{rng.randint(1, 9)}")
    for _ in range(25):
        out.append(f"invoice {rng.randint(10**9, 10**11)}")
    for _ in range(20):
        out.append(f"order {rng.randint(100, 999)}-{rng.randint(10**6, 10**7)}-{rng.randint(10**6, 10**7)}")
    for _ in range(20):
        out.append(f"commit {rand('0123456789abcdef', 40)} fixed it")
    for _ in range(15):
        out.append(
            f"card ending {rng.randint(1000, 9999)} and a total of {rng.randint(10, 9999)}.{rng.randint(0, 99):02d}"
        )
    return out


def main() -> None:
    rows = []
    for source, items in [
        ("card", cards()),
        ("iban", ibans()),
        ("phone", phones()),
        ("ssn", ssns()),
        ("ip", ips()),
        ("email", emails()),
        ("secret", secrets()),
        ("handwritten", HANDWRITTEN),
    ]:
        rows += [{"source": source, **parse(item)} for item in items]
    rows += [{"source": "clean", "text": text, "spans": []} for text in CLEAN + clean_generated()]
    with (HERE / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    labelled = sum(1 for r in rows if r["spans"])
    print(
        f"{len(rows)} snippets: {labelled} with {sum(len(r['spans']) for r in rows)} spans, {len(rows) - labelled} clean"
    )


if __name__ == "__main__":
    main()
