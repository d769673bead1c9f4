#if canImport(Glibc)
import Glibc
#endif

func timespecFor(ms: Int) -> timespec {
    timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
}

func nanosleepWrapper(_ ts: inout timespec) -> Int32 {
    nanosleep(&ts, nil)
}
