import ArgumentParser
// Keep this file tiny: C callbacks must not be closures in top-level code.
FoghornCommand.main()
