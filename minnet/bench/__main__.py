"""``python -m minnet.bench <name> [options]``: run one benchmark (sparse, train, conv, data, pipeline).

Each benchmark lives in its own module ``minnet.bench.<name>`` with a ``main(argv)``; it is imported
only when asked for, so one benchmark's missing dependency cannot break the others.
"""

import importlib
import sys

BENCHMARKS = {
    "sparse": "CSR vs dense products and pruned-model inference",
    "train": "seconds per training epoch vs baselines",
    "conv": "LeNet-5 training epoch and inference vs PyTorch",
    "data": "seconds to load MNIST in a fresh process, with and without the cache",
    "pipeline": "wall time of a whole default prune run, split by step",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] not in BENCHMARKS and argv[0] not in ("-h", "--help"):
        print(f"error: unknown benchmark {argv[0]!r}; choose one of {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help"):
        lines = [f"  {name:<8} {what}" for name, what in BENCHMARKS.items()]
        print("usage: python -m minnet.bench {" + ",".join(BENCHMARKS) + "} [options]\n"
              + "\n".join(lines), file=sys.stderr)
        return 0 if argv else 2
    name = argv[0]
    try:
        module = importlib.import_module(f"minnet.bench.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"minnet.bench.{name}":
            raise                       # the benchmark exists but one of *its* imports is missing
        raise SystemExit(f"benchmark {name!r}: module minnet.bench.{name} is not there ({e}); "
                         "it may not be written yet") from e
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
