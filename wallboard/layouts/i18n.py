"""Screen labels in Spanish and English. The browser gets the set of its page's language."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "es": {
        "waiting": "En espera", "longest": "Espera más larga", "sl": "Nivel de servicio",
        "abandon": "Abandono", "asa": "ASA", "aht": "TMO", "available": "Disponibles", "on_call": "En llamada",
        "wrap_up": "Posllamada", "not_ready": "No disponibles", "ringing": "Sonando", "on_hold": "En espera (hold)",
        "logged_out": "Desconectados", "no_data_since": "Sin datos desde", "connecting": "Conectando…",
        "ok": "OK", "warn": "ATENCIÓN", "alert": "ALERTA", "today": "hoy", "last": "últimos",
        "formula.answered": "respondidas", "formula.asterisk_sl2": "Asterisk SL2", "formula.offered": "ofrecidas",
        "formula.excl_short_abandons": "sin abandonos cortos", "formula.abandons_after_T": "abandonos tras T",
        "agent": "Agente", "state": "Estado", "reason": "Motivo", "time": "Tiempo", "calls": "Llamadas",
        "paused": "Pausa hoy", "handled": "Atendidas", "occupancy": "Ocupación", "queue": "Cola",
        "offered": "Ofrecidas", "answered": "Respondidas", "abandoned": "Abandonadas", "target": "Objetivo",
        "sort.state": "Por estado", "sort.time": "Por tiempo", "sort.name": "Por nombre", "sort.calls": "Por llamadas",
        "filter": "Filtrar agentes…", "centre": "Centro", "screens": "Pantallas", "teams": "Equipos",
        "views": "Vistas", "manager": "Dirección", "agents": "Agentes", "trend": "Tendencia de hoy (15 min)",
        "all_queues": "Todas las colas",
        "state.logged_out": "Desconectado", "state.available": "Disponible", "state.ringing": "Sonando",
        "state.on_call": "En llamada", "state.on_hold": "En espera", "state.wrap_up": "Posllamada",
        "state.not_ready": "No disponible",
    },
    "en": {
        "waiting": "Waiting", "longest": "Longest wait", "sl": "Service level",
        "abandon": "Abandoned", "asa": "ASA", "aht": "AHT", "available": "Available", "on_call": "On call",
        "wrap_up": "Wrap-up", "not_ready": "Not ready", "ringing": "Ringing", "on_hold": "On hold",
        "logged_out": "Logged out", "no_data_since": "No data since", "connecting": "Connecting…",
        "ok": "OK", "warn": "WARNING", "alert": "ALERT", "today": "today", "last": "last",
        "formula.answered": "answered", "formula.asterisk_sl2": "Asterisk SL2", "formula.offered": "offered",
        "formula.excl_short_abandons": "excl. short abandons", "formula.abandons_after_T": "abandons after T",
        "agent": "Agent", "state": "State", "reason": "Reason", "time": "Time", "calls": "Calls",
        "paused": "Paused today", "handled": "Handled", "occupancy": "Occupancy", "queue": "Queue",
        "offered": "Offered", "answered": "Answered", "abandoned": "Abandoned", "target": "Target",
        "sort.state": "By state", "sort.time": "By time", "sort.name": "By name", "sort.calls": "By calls",
        "filter": "Filter agents…", "centre": "Centre", "screens": "Screens", "teams": "Teams",
        "views": "Views", "manager": "Management", "agents": "Agents", "trend": "Today's trend (15 min)",
        "all_queues": "All queues",
        "state.logged_out": "Logged out", "state.available": "Available", "state.ringing": "Ringing",
        "state.on_call": "On call", "state.on_hold": "On hold", "state.wrap_up": "Wrap-up",
        "state.not_ready": "Not ready",
    },
}
