"""Configuration: ``config.yaml`` parsed once, at the edge, into a frozen :class:`Config`.

The sections and their checks are :mod:`wallboard.config.model`; reading the file,
the environment references in it and the error messages, :mod:`wallboard.config.loading`.
"""

from wallboard.config.loading import (
    DEFAULT_CONFIG_PATH,
    ENV_CONFIG,
    ENV_REDIS_URL,
    ConfigError,
    config_path,
    format_errors,
    load_config,
    parse_config,
)
from wallboard.config.model import (
    DEFAULT_THRESHOLDS,
    AgentConfig,
    CollectorConfig,
    Config,
    EventRules,
    PauseReason,
    QueueConfig,
    QueueDefaults,
    RedisSettings,
    ScreenConfig,
    TeamConfig,
    Threshold,
    TimeInState,
    WebSettings,
)
from wallboard.config.security import (
    ROLES,
    AuthSettings,
    LoginLimits,
    OidcSettings,
    PrivacySettings,
    Role,
    RoleMapping,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_THRESHOLDS",
    "ENV_CONFIG",
    "ENV_REDIS_URL",
    "ROLES",
    "AgentConfig",
    "AuthSettings",
    "CollectorConfig",
    "Config",
    "ConfigError",
    "EventRules",
    "LoginLimits",
    "OidcSettings",
    "PauseReason",
    "PrivacySettings",
    "QueueConfig",
    "QueueDefaults",
    "RedisSettings",
    "Role",
    "RoleMapping",
    "ScreenConfig",
    "TeamConfig",
    "Threshold",
    "TimeInState",
    "WebSettings",
    "config_path",
    "format_errors",
    "load_config",
    "parse_config",
]
