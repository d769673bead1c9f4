import Testing
import FoghornControl

/// Enrollment tokens count their uses; the counts of expired tokens are dropped (an expired
/// token is refused before its count is read), so a long-running plane does not keep one entry
/// per token ever redeemed.
@Suite struct EnrollmentTokensTests {
    @Test func usesAreEnforcedAndExpiredTokensAreForgotten() {
        var tokens = EnrollmentTokens(secret: Array("k".utf8))
        let twice = tokens.issue(tenant: "", expiresInSeconds: 5000, maxUses: 2, nowSeconds: 1000).token
        #expect(tokens.redeem(twice, nowSeconds: 1000).isSuccess)
        // 2,000 short-lived tokens redeemed once each (the table is pruned at 1,024: none expired yet).
        for _ in 0..<2000 {
            let t = tokens.issue(tenant: "t", expiresInSeconds: 10, maxUses: 1, nowSeconds: 1000).token
            #expect(tokens.redeem(t, nowSeconds: 1000).isSuccess)
            #expect(tokens.redeem(t, nowSeconds: 1001) == .failure(.usedUp))
        }
        #expect(tokens.rememberedTokens == 2001)
        // Later: the next prune drops every expired one, keeps the live ones and their counts.
        for _ in 0..<100 {
            let t = tokens.issue(tenant: "", expiresInSeconds: 10, maxUses: 1, nowSeconds: 2000).token
            #expect(tokens.redeem(t, nowSeconds: 2000).isSuccess)
        }
        #expect(tokens.rememberedTokens == 101)  // `twice` and the 100 new ones; the 2,000 expired are gone
        #expect(tokens.redeem(twice, nowSeconds: 2000).isSuccess)
        #expect(tokens.redeem(twice, nowSeconds: 2000) == .failure(.usedUp))
        #expect(tokens.redeem(twice, nowSeconds: 6000) == .failure(.expired))
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
