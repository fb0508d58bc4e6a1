"""The pages of the gate, in Spanish and English: sign-in, and "not allowed".

Plain HTML with one stylesheet of their own (``/auth/login.css``) and no script:
they are served before anyone is known, so they carry nothing but the form.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

TEXT: dict[str, dict[str, str]] = {
    "es": {
        "title": "Entrar · wallboard",
        "heading": "Entrar",
        "user": "Usuario",
        "password": "Contraseña",
        "submit": "Entrar",
        "sso": "Entrar con {name}",
        "or": "o",
        "screens": "¿Una pantalla de pared? Ábrala una vez con la clave de pantalla: /wall/<pantalla>?key=…",
        "bad": "Usuario o contraseña incorrectos.",
        "limited": "Demasiados intentos fallidos. Vuelva a intentarlo en {s} s.",
        "csrf": "El formulario ha caducado: vuelva a intentarlo.",
        "sso_failed": "No se pudo entrar con {name}: {why}",
        "sso.unreachable": "el proveedor no responde",
        "sso.expired": "el inicio de sesión caducó, vuelva a empezar",
        "sso.refused": "el proveedor lo rechazó",
        "sso.unverified": "la respuesta del proveedor no se pudo verificar",
        "sso.no_role": "esta cuenta no tiene ningún rol en el wallboard (no role)",
        "sso.failed": "error",
        "busy": "Demasiados inicios de sesión a la vez: vuelva a intentarlo en unos segundos.",
        "other": "English",
        "refused_title": "Sin permiso",
        "refused": "Su usuario o la clave de esta pantalla no abre esta página.",
        "unknown_key": "Clave de pantalla desconocida o revocada.",
        "home": "Inicio",
        "signout": "Salir",
    },
    "en": {
        "title": "Sign in · wallboard",
        "heading": "Sign in",
        "user": "User name",
        "password": "Password",
        "submit": "Sign in",
        "sso": "Sign in with {name}",
        "or": "or",
        "screens": "A wall screen? Open it once with its display key: /wall/<screen>?key=…",
        "bad": "Wrong user name or password.",
        "limited": "Too many failed attempts. Try again in {s} s.",
        "csrf": "The form expired: please try again.",
        "sso_failed": "Could not sign in with {name}: {why}",
        "sso.unreachable": "the provider does not answer",
        "sso.expired": "the sign-in expired, start again",
        "sso.refused": "the provider refused it",
        "sso.unverified": "the provider's answer did not verify",
        "sso.no_role": "this account has no role in the wallboard (no role)",
        "sso.failed": "error",
        "busy": "Too many sign-ins at once: try again in a few seconds.",
        "other": "Español",
        "refused_title": "Not allowed",
        "refused": "Your account or this screen's key does not open this page.",
        "unknown_key": "Unknown or revoked display key.",
        "home": "Home",
        "signout": "Sign out",
    },
}

CSS = """
html,body{margin:0;min-height:100%;background:#0b0d10;color:#e8eaed;font:18px/1.4 system-ui,sans-serif}
main{max-width:26em;margin:8vh auto;padding:2em;background:#14181d;border-radius:12px}
h1{margin-top:0;font-size:1.6em}label{display:block;margin:1em 0 .3em}
input{width:100%;box-sizing:border-box;padding:.6em;font-size:1em;border-radius:6px;border:1px solid #3a4048;
background:#0b0d10;color:#e8eaed}
button,.sso{display:block;width:100%;margin-top:1.4em;padding:.7em;font-size:1em;border:0;border-radius:6px;
background:#2f81f7;color:#fff;text-align:center;text-decoration:none;cursor:pointer}
.sso{background:#3a4048}.error{color:#ff7b72;margin-top:1em}.note{color:#9aa4ae;font-size:.8em;margin-top:2em}
.or{text-align:center;color:#9aa4ae;margin-top:1.2em}.lang{float:right;color:#9aa4ae;font-size:.8em}a{color:#58a6ff}
""".strip()


def _lang(language: str) -> str:
    return language if language in TEXT else "es"


def login_page(
    language: str, csrf: str, next_path: str, error: str = "", sso_name: str = "", sso_href: str = ""
) -> str:
    lang = _lang(language)
    t = TEXT[lang]
    other = "en" if lang == "es" else "es"
    switch = "/login?" + urlencode({"lang": other, "next": next_path})
    sso = ""
    if sso_href:
        sso = (
            f'<p class="or">{t["or"]}</p>'
            f'<a class="sso" id="wb-sso" href="{escape(sso_href)}">{escape(t["sso"].format(name=sso_name))}</a>'
        )
    err = f'<p class="error" id="wb-login-error" role="alert">{escape(error)}</p>' if error else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{t["title"]}</title><link rel="stylesheet" href="/auth/login.css"></head><body><main>'
        f'<a class="lang" href="{escape(switch)}">{t["other"]}</a><h1>{t["heading"]}</h1>'
        f'<form method="post" action="/login" id="wb-login">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<label for="wb-user">{t["user"]}</label>'
        f'<input id="wb-user" name="username" autocomplete="username" required autofocus maxlength="64">'
        f'<label for="wb-password">{t["password"]}</label>'
        f'<input id="wb-password" name="password" type="password" autocomplete="current-password" required'
        f' maxlength="1024">'
        f'<button type="submit">{t["submit"]}</button></form>{err}{sso}'
        f'<p class="note">{escape(t["screens"])}</p></main></body></html>'
    )


def refused_page(language: str, status: int = 403) -> str:
    t = TEXT[_lang(language)]
    message = t["unknown_key"] if status == 401 else t["refused"]
    return (
        f'<!doctype html><html lang="{_lang(language)}"><head><meta charset="utf-8">'
        f'<title>{t["refused_title"]} · wallboard</title><link rel="stylesheet" href="/auth/login.css"></head>'
        f'<body><main><h1 id="wb-refused">{t["refused_title"]}</h1><p>{message}</p>'
        f'<p><a href="/">{t["home"]}</a> · '
        f'<a href="/login">{TEXT[_lang(language)]["heading"]}</a></p></main></body></html>'
    )
