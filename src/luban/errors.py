"""The exception tree. Each carries one sentence for the user; bugs are not caught here.

    LubanError                    user-facing failure, printed as one sentence, exit 1
    ├── ConfigError               bad settings, config file, flag value (exit 2 from the CLI)
    ├── WorkspaceError            workspace missing, path outside it
    ├── ModelError                anything between us and the model server
    │   ├── ModelUnavailable      cannot connect / server died / missing model files
    │   ├── ModelTimeout          no first token or no progress within the limit
    │   ├── ModelProtocolError    the server sent something we cannot read
    │   └── ModelRejected         the server answered 4xx to our request
    ├── SessionError              transcript missing, locked or unreadable
    ├── SandboxUnavailable        no sandbox for commands works here, and running unconfined is not allowed
    ├── TuneError                 a dataset, training run or adapter that cannot be built or used
    ├── Cancelled                 the user or a driver cancelled the request
    └── TimeUp                    a driver's wall-clock cap ran out in the middle of a step
"""


class LubanError(Exception):
    """A failure the user can act on; str() is the one sentence we show."""

    status = "error"  # how a run that this ends reports it in its Outcome


class ConfigError(LubanError):
    pass


class WorkspaceError(LubanError):
    pass


class ModelError(LubanError):
    pass


class ModelUnavailable(ModelError):
    pass


class ModelTimeout(ModelError):
    pass


class ModelProtocolError(ModelError):
    pass


class ModelRejected(ModelError):
    pass


class SessionError(LubanError):
    pass


class SandboxUnavailable(LubanError):
    pass


class TuneError(LubanError):
    pass


class Cancelled(LubanError):
    pass


class TimeUp(LubanError):
    """Thrown into a run by a driver whose wall-clock cap ran out; the run ends as max_time."""

    status = "max_time"
