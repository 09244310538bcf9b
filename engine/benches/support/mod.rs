//! Fixtures for the engine benchmarks: a realistic project filter, a set of
//! realistic scopes and a mix of value names.

use tracesieve_engine::{builtin, from_dunder_name, FilterChain, FilterSource, Platform, Scope};

/// Where the user filter lives; its project root is `/proj`.
pub const USER_FILTER_PATH: &str = "/proj/.codetracer/trace-filter.toml";

/// A 50-rule project filter heavy in globs and regexes: `pkg:`, `file:` and
/// `obj:` selectors (26 glob, 15 regex, 9 literal), ten of them with value
/// patterns.
pub const USER_FILTER: &str = r#"
[meta]
name = "acme-shop"
version = 1
description = "Trace the acme shop backend; skip vendored, generated and noisy code."
labels = ["project", "acme"]

[scope]
default_exec = "inherit"
default_value_action = "inherit"

# --- packages -------------------------------------------------------------

[[scope.rules]]
selector = "pkg:glob:acme.vendor.*"
exec = "skip"
reason = "vendored copies of third-party code"

[[scope.rules]]
selector = 'pkg:regex:^acme\.(migrations|alembic)(\.|$)'
exec = "skip"
reason = "database migrations"

[[scope.rules]]
selector = "pkg:literal:acme.settings"
exec = "trace"
reason = "settings are read at start-up"

[[scope.rules.value_patterns]]
selector = 'global:regex:^(DATABASE|REDIS|SMTP|BROKER)_URL$'
action = "redact"
reason = "connection strings carry credentials"

[[scope.rules.value_patterns]]
selector = "global:glob:*_DSN"
action = "redact"

[[scope.rules]]
selector = "pkg:glob:{requests,requests.*}"
exec = "trace"
reason = "HTTP client calls are interesting"

[[scope.rules.value_patterns]]
selector = "arg:literal:headers"
action = "redact"
reason = "may carry Authorization"

[[scope.rules.value_patterns]]
selector = "attr:glob:_*"
action = "drop"

[[scope.rules]]
selector = "pkg:glob:{urllib3,urllib3.*,certifi,certifi.*,idna,idna.*,charset_normalizer,charset_normalizer.*}"
exec = "skip"
reason = "HTTP plumbing"

[[scope.rules]]
selector = 'pkg:regex:^(sqlalchemy|psycopg2?|asyncpg)(\.|$)'
exec = "skip"
reason = "database drivers"

[[scope.rules]]
selector = "pkg:glob:{django,django.*}"
exec = "skip"
reason = "framework internals"

[[scope.rules]]
selector = "pkg:glob:django.contrib.auth.*"
exec = "trace"
value_default = "redact"
reason = "authentication flows, values redacted by default"

[[scope.rules]]
selector = "pkg:literal:acme.payments.gateway"
exec = "trace"
value_default = "redact"
reason = "card data flows through here"

[[scope.rules.value_patterns]]
selector = "local:literal:amount"
action = "allow"

[[scope.rules.value_patterns]]
selector = "local:literal:currency"
action = "allow"

[[scope.rules.value_patterns]]
selector = 'arg:regex:^(card|pan|cvv|cvc|expiry)'
action = "drop"

[[scope.rules]]
selector = 'pkg:regex:^(pydantic|pydantic_core|attr|attrs|marshmallow)(\.|$)'
exec = "skip"
reason = "validation libraries"

[[scope.rules]]
selector = "pkg:glob:{celery,celery.*,kombu,kombu.*,billiard,billiard.*}"
exec = "skip"
reason = "task queue machinery"

[[scope.rules]]
selector = "pkg:glob:acme.tasks.*"
exec = "trace"
reason = "our own tasks"

[[scope.rules]]
selector = "pkg:literal:__main__"
exec = "trace"
reason = "the entry script"

[[scope.rules]]
selector = 'pkg:regex:^(logging|json|re|enum|typing|dataclasses|functools|abc)(\.|$)'
exec = "skip"
reason = "frequently called standard modules"

[[scope.rules]]
selector = "pkg:glob:{tests,tests.*}"
exec = "trace"
reason = "tests"

[[scope.rules.value_patterns]]
selector = 'local:regex:^(fake|dummy|test)_'
action = "allow"
reason = "fixtures hold fake secrets"

[[scope.rules]]
selector = "pkg:glob:*.conftest"
exec = "trace"

[[scope.rules]]
selector = 'pkg:regex:_pb2(_grpc)?$'
exec = "skip"
reason = "generated protobuf modules"

# --- files ----------------------------------------------------------------

[[scope.rules]]
selector = "file:glob:src/acme/**/*.py"
exec = "trace"
reason = "project sources"

[[scope.rules]]
selector = "file:glob:**/generated/**"
exec = "skip"
reason = "generated code"

[[scope.rules]]
selector = 'file:regex:_pb2(_grpc)?\.py$'
exec = "skip"
reason = "protobuf stubs"

[[scope.rules]]
selector = "file:literal:src/acme/wsgi.py"
exec = "trace"
reason = "the WSGI entry point"

[[scope.rules]]
selector = "file:glob:/proj/scripts/*.py"
exec = "trace"
reason = "maintenance scripts"

[[scope.rules.value_patterns]]
selector = "local:glob:*_secret*"
action = "redact"

[[scope.rules]]
selector = "file:glob:.venv/lib/python3.*/site-packages/**"
exec = "skip"
reason = "the project's virtualenv"

[[scope.rules]]
selector = "file:glob:.venv/lib/python3.*/site-packages/requests/**"
exec = "trace"
reason = "but keep requests"

[[scope.rules]]
selector = 'file:regex:^/home/[^/]+/\.local/lib/python3\.\d+/site-packages/'
exec = "skip"
reason = "user site-packages"

[[scope.rules]]
selector = "file:glob:**/node_modules/**"
exec = "skip"

[[scope.rules]]
selector = 'file:regex:(^|/)docs/.*\.py$'
exec = "skip"
reason = "documentation helpers"

[[scope.rules]]
selector = "file:glob:src/acme/payments/**"
value_default = "redact"
reason = "everything in payments is sensitive"

[[scope.rules.value_patterns]]
selector = "local:regex:^(order_id|invoice_id|status)$"
action = "allow"

[[scope.rules.value_patterns]]
selector = "ret:literal:acme.payments.gateway.charge"
action = "drop"

[[scope.rules]]
selector = "file:literal:src/acme/config/secrets.py"
value_default = "drop"
reason = "never record secrets.py"

[[scope.rules]]
selector = "file:glob:tests/**/test_*.py"
exec = "trace"

[[scope.rules]]
selector = "file:glob:tests/fixtures/**"
exec = "skip"
reason = "fixture data modules"

[[scope.rules]]
selector = 'file:regex:/site-packages/(pytest|_pytest|pluggy)/'
exec = "skip"

[[scope.rules]]
selector = "file:glob:src/acme/**/admin.py"
exec = "skip"
reason = "admin registrations"

[[scope.rules]]
selector = "file:literal:manage.py"
exec = "trace"

# --- objects --------------------------------------------------------------

[[scope.rules]]
selector = "obj:glob:acme.api.*.handle_*"
exec = "trace"
reason = "request handlers"

[[scope.rules.value_patterns]]
selector = "arg:literal:request"
action = "redact"
reason = "whole requests are too large and sensitive"

[[scope.rules.value_patterns]]
selector = "local:glob:*token*"
action = "redact"

[[scope.rules]]
selector = 'obj:regex:\.__(repr|str|hash|eq|lt|le|gt|ge|ne)__$'
exec = "skip"
reason = "dunder noise"

[[scope.rules]]
selector = "obj:literal:acme.core.app.create_app"
exec = "trace"

[[scope.rules]]
selector = 'obj:regex:^acme\.models\.[A-Z]\w*\.(save|delete|full_clean)$'
exec = "trace"
reason = "model persistence"

[[scope.rules.value_patterns]]
selector = "attr:regex:^(password_hash|api_key_digest)$"
action = "drop"

[[scope.rules]]
selector = "obj:glob:*.<lambda>"
exec = "skip"
reason = "anonymous helpers"

[[scope.rules]]
selector = "obj:glob:*.<listcomp>"
exec = "skip"

[[scope.rules]]
selector = "obj:glob:*.<genexpr>"
exec = "skip"

[[scope.rules]]
selector = 'obj:regex:^acme\.utils\.(cache|memo)\w*\.'
exec = "skip"
reason = "cache wrappers are called constantly"

[[scope.rules]]
selector = "obj:literal:acme.auth.views.login"
exec = "trace"
value_default = "redact"

[[scope.rules.value_patterns]]
selector = "arg:literal:username"
action = "allow"

[[scope.rules.value_patterns]]
selector = "ret:glob:*"
action = "redact"

[[scope.rules]]
selector = "obj:glob:acme.auth.**"
exec = "trace"

[[scope.rules]]
selector = 'obj:regex:(?i)\.(get|set)_?(password|secret|token)\w*$'
value_default = "redact"
reason = "accessors of secrets"

[[scope.rules]]
selector = "obj:glob:acme.reports.*.render*"
exec = "skip"
reason = "report rendering is slow and noisy"

[[scope.rules]]
selector = "obj:literal:acme.tasks.email.send_welcome"
exec = "trace"

[[scope.rules.value_patterns]]
selector = "local:regex:^(smtp_)?pass"
action = "drop"

[[scope.rules]]
selector = 'obj:regex:^tests\..*\.test_\w+$'
exec = "trace"

[[scope.rules]]
selector = "obj:glob:*.Meta.*"
exec = "skip"
reason = "Django Meta classes"

[[scope.rules]]
selector = 'obj:regex:^requests\.(sessions|adapters)\.\w+\.(send|request)$'
exec = "trace"
reason = "the requests calls we care about"
"#;

/// The built-in default sources followed by the project filter.
pub fn user_sources() -> Vec<FilterSource> {
    let mut sources = builtin::sources(None);
    sources.push(FilterSource::file(USER_FILTER_PATH, USER_FILTER));
    sources
}

/// The built-in default chain plus the project filter.
pub fn user_chain() -> FilterChain {
    FilterChain::load(&user_sources(), Platform::Posix).expect("the user chain loads")
}

/// The built-in default chain alone.
pub fn builtin_chain() -> FilterChain {
    FilterChain::load(&builtin::sources(None), Platform::Posix).expect("the built-ins load")
}

/// Files a recorder meets, with their `__name__` and some of their code objects.
const FILES: &[(&str, &str, &[&str])] = &[
    // The project's sources.
    (
        "/proj/src/acme/__init__.py",
        "acme",
        &["<module>", "_configure_logging"],
    ),
    (
        "/proj/src/acme/core/app.py",
        "acme.core.app",
        &["<module>", "create_app", "App.__init__", "App.run"],
    ),
    (
        "/proj/src/acme/api/orders.py",
        "acme.api.orders",
        &[
            "handle_create",
            "handle_list",
            "OrderSerializer.validate",
            "handle_list.<locals>.<lambda>",
        ],
    ),
    (
        "/proj/src/acme/api/users.py",
        "acme.api.users",
        &["handle_signup", "handle_reset_password", "_normalise_email"],
    ),
    (
        "/proj/src/acme/auth/views.py",
        "acme.auth.views",
        &["login", "logout", "LoginForm.clean"],
    ),
    (
        "/proj/src/acme/auth/tokens.py",
        "acme.auth.tokens",
        &[
            "issue_token",
            "TokenStore.get_token",
            "TokenStore.set_secret",
        ],
    ),
    (
        "/proj/src/acme/models/order.py",
        "acme.models.order",
        &[
            "Order.save",
            "Order.__repr__",
            "Order.Meta.ordering",
            "Order.total",
        ],
    ),
    (
        "/proj/src/acme/models/user.py",
        "acme.models.user",
        &["User.delete", "User.__str__", "User.set_password"],
    ),
    (
        "/proj/src/acme/payments/gateway.py",
        "acme.payments.gateway",
        &["charge", "refund", "Gateway._sign"],
    ),
    (
        "/proj/src/acme/payments/admin.py",
        "acme.payments.admin",
        &["<module>", "PaymentAdmin.get_queryset"],
    ),
    (
        "/proj/src/acme/reports/sales.py",
        "acme.reports.sales",
        &["render_pdf", "aggregate", "aggregate.<locals>.<listcomp>"],
    ),
    (
        "/proj/src/acme/utils/cache.py",
        "acme.utils.cache",
        &["memoize", "memoize.<locals>.wrapper"],
    ),
    (
        "/proj/src/acme/tasks/email.py",
        "acme.tasks.email",
        &["send_welcome", "render_template"],
    ),
    (
        "/proj/src/acme/config/secrets.py",
        "acme.config.secrets",
        &["<module>", "load_vault", "get_api_token"],
    ),
    (
        "/proj/src/acme/wsgi.py",
        "acme.wsgi",
        &["<module>", "application"],
    ),
    (
        "/proj/src/acme/generated/api_pb2.py",
        "acme.generated.api_pb2",
        &["<module>"],
    ),
    (
        "/proj/src/acme/vendor/six.py",
        "acme.vendor.six",
        &["with_metaclass", "<module>"],
    ),
    (
        "/proj/src/acme/migrations/0042_add_index.py",
        "acme.migrations.0042_add_index",
        &["<module>"],
    ),
    ("/proj/src/acme/settings.py", "acme.settings", &["<module>"]),
    // Tests and scripts.
    (
        "/proj/tests/api/test_orders.py",
        "tests.api.test_orders",
        &["test_create_order", "test_list_orders", "<module>"],
    ),
    (
        "/proj/tests/conftest.py",
        "tests.conftest",
        &["client", "db_session"],
    ),
    (
        "/proj/tests/fixtures/users.py",
        "tests.fixtures.users",
        &["make_user"],
    ),
    (
        "/proj/scripts/backfill.py",
        "__main__",
        &["<module>", "main", "main.<locals>.<genexpr>"],
    ),
    ("/proj/manage.py", "__main__", &["<module>", "main"]),
    ("/proj/docs/conf.py", "conf", &["<module>", "setup"]),
    // The project's virtualenv.
    (
        "/proj/.venv/lib/python3.12/site-packages/requests/sessions.py",
        "requests.sessions",
        &[
            "Session.request",
            "Session.send",
            "Session.merge_environment_settings",
        ],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/requests/adapters.py",
        "requests.adapters",
        &["HTTPAdapter.send", "HTTPAdapter.build_response"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/urllib3/connectionpool.py",
        "urllib3.connectionpool",
        &[
            "HTTPConnectionPool.urlopen",
            "HTTPConnectionPool._make_request",
        ],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/django/db/models/base.py",
        "django.db.models.base",
        &["Model.save", "Model.__init__", "ModelBase.__new__"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/django/contrib/auth/hashers.py",
        "django.contrib.auth.hashers",
        &["make_password", "check_password"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/pydantic/main.py",
        "pydantic.main",
        &["BaseModel.__init__", "BaseModel.model_dump"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/_pytest/python.py",
        "_pytest.python",
        &["pytest_pyfunc_call", "Function.runtest"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/celery/app/task.py",
        "celery.app.task",
        &["Task.apply_async", "Task.__call__"],
    ),
    (
        "/proj/.venv/lib/python3.12/site-packages/_virtualenv.py",
        "_virtualenv",
        &["<module>", "_Finder.find_spec"],
    ),
    // Elsewhere on the machine.
    (
        "/home/dev/.local/lib/python3.12/site-packages/rich/console.py",
        "rich.console",
        &["Console.print", "Console._render_buffer"],
    ),
    (
        "/usr/lib/python3.12/json/decoder.py",
        "json.decoder",
        &["JSONDecoder.decode", "JSONDecoder.raw_decode"],
    ),
    (
        "/usr/lib/python3.12/logging/__init__.py",
        "logging",
        &["Logger.info", "Logger._log", "Handler.handle"],
    ),
    (
        "/usr/lib/python3.12/asyncio/base_events.py",
        "asyncio.base_events",
        &["BaseEventLoop.run_forever", "BaseEventLoop._run_once"],
    ),
    (
        "/usr/lib/python3.12/threading.py",
        "threading",
        &["Thread.run", "Condition.wait"],
    ),
    (
        "/usr/lib/python3.12/functools.py",
        "functools",
        &["wraps.<locals>.decorator", "lru_cache"],
    ),
    (
        "/usr/lib/python3/dist-packages/apt/cache.py",
        "apt.cache",
        &["Cache.open"],
    ),
    (
        "/opt/tools/plugins/hooks.py",
        "<run_path>",
        &["<module>", "on_load"],
    ),
    // Synthetic filenames.
    (
        "<frozen importlib._bootstrap>",
        "importlib._bootstrap",
        &["_find_and_load", "_call_with_frames_removed"],
    ),
    ("<string>", "__main__", &["<module>"]),
];

/// About a hundred realistic scopes: project, test, virtualenv, user-site,
/// standard-library and synthetic files, with their module names.
pub fn scopes() -> Vec<Scope> {
    FILES
        .iter()
        .flat_map(|&(filename, module, qualnames)| {
            qualnames.iter().map(move |&qualname| {
                Scope::new(filename, qualname, from_dunder_name(Some(module)))
            })
        })
        .collect()
}

/// Value names the built-in secret patterns redact.
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "db_password",
    "api_key",
    "apiKey",
    "secret_key",
    "access_token",
    "refresh_token",
    "session_id",
    "auth_header",
    "credentials",
    "private_key",
    "jwt",
    "card_number",
    "cvv",
    "pwd",
    "SECRET",
];

/// Value names the built-in secret patterns leave alone.
pub const ORDINARY_NAMES: &[&str] = &[
    "self", "i", "x", "result", "request", "response", "user_id", "items", "order", "total",
    "quantity", "config", "logger", "data", "kwargs", "timeout",
];

/// Secret-looking and ordinary names, interleaved.
pub fn value_names() -> Vec<&'static str> {
    SECRET_NAMES
        .iter()
        .zip(ORDINARY_NAMES)
        .flat_map(|(&secret, &ordinary)| [secret, ordinary])
        .collect()
}
