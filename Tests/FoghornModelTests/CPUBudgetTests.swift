import Testing
import FoghornModel

@Suite struct CPUBudgetTests {
    @Test func affinityCappedByEveryQuotaRoundedUp() {
        #expect(CPUBudget.cpus(affinity: 64, quotas: ["200000 100000\n", "max 100000\n"]) == 2)
        #expect(CPUBudget.cpus(affinity: 64, quotas: ["max 100000", "150000 100000"]) == 2)
        #expect(CPUBudget.cpus(affinity: 64, quotas: ["50000 100000"]) == 1)
        #expect(CPUBudget.cpus(affinity: 4, quotas: ["max 100000"]) == 4)
        #expect(CPUBudget.cpus(affinity: 4, quotas: ["800000 100000"]) == 4)
        #expect(CPUBudget.cpus(affinity: 0, quotas: []) == 1)
        for junk in ["", "x y", "-5 100000", "100 0", "0 100000", "18446744073709551615 1"] {
            #expect(CPUBudget.cpus(affinity: 8, quotas: [junk]) >= 1)
        }
    }

    @Test func cgroupPathAndItsParents() {
        let text = "12:memory:/x\n0::/kubepods/burstable/pod1/c2\n"
        #expect(CPUBudget.cgroupPath(text) == "/kubepods/burstable/pod1/c2")
        #expect(CPUBudget.cgroupPath("4:memory:/x\n") == nil)
        #expect(CPUBudget.cpuMaxFiles(cgroupPath: "/a/b", root: "/sys/fs/cgroup") == [
            "/sys/fs/cgroup/a/b/cpu.max", "/sys/fs/cgroup/a/cpu.max", "/sys/fs/cgroup/cpu.max"])
        #expect(CPUBudget.cpuMaxFiles(cgroupPath: "/", root: "/sys/fs/cgroup") == ["/sys/fs/cgroup/cpu.max"])
    }
}
