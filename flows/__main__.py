"""`python -m flows STAGE [options]`: the command DVC runs for every stage.

Decides where flow runs are recorded (see `tasks.ops.stack.resolve_api`), then runs the stage in a warm runner when
one is listening (`tasks.ops.runner`), else in this process.
"""

import os
import sys

from tasks.ops import runner, stack

ENTRY = "flows.cli:main"  # what a warm runner calls with the stage's arguments


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "scaffold":  # a command, not a stage: no Prefect server, no warm runner
        from flows.scaffold import main as scaffold

        return scaffold(argv[1:])
    stack.apply_env_defaults()
    if argv and argv[0] not in ("-h", "--help"):
        stack.resolve_api()
        os.environ.setdefault("MLP_RUN_TAG", stack.repro_tag())
    if os.environ.get("MLP_WARM_RUNNER", "1") != "0":
        env = dict(os.environ)
        code = runner.run_remote(argv, env, ENTRY)
        if code is not None:
            return code
        runner.spawn(env)
    from flows.cli import main as run_stage

    return run_stage(argv)


if __name__ == "__main__":
    sys.exit(main())
