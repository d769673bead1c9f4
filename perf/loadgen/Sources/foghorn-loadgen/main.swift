// Kept tiny: C callbacks must not be closures in top-level code (see LoadGenerator.swift).
LoadGenerator.main()
