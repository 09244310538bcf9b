"""A fork-based multiprocessing pool: the parent's trace is not corrupted."""
import multiprocessing


def square(x):
    return x * x


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(pool.map(square, range(50))))
    print("done")
