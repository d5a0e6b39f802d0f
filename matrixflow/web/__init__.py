"""The page: `matrixflow serve` (server.py, Flask, the `web` extra) and the work it shows
(api.py, plain data from `matrixflow explain`'s own functions).  A room above teaching: it may
import teaching, verification and the engine, and nothing imports it but the command."""
