import Testing
import FoghornControl

/// Enrollment tokens: a token is refused once the store counted its last use, when revoked and
/// when expired; the uses of expired tokens are dropped once the table doubles, so a
/// long-running plane does not keep one entry per token ever redeemed.
@Suite struct EnrollmentTokensTests {
    @Test func usesAreEnforcedAndExpiredTokensAreForgotten() {
        var tokens = EnrollmentTokens(secret: Array("k".utf8))
        let twice = tokens.issue(tenant: "", expiresInSeconds: 5000, maxUses: 2, nowSeconds: 1000)
        #expect(tokens.verify(twice.token, nowSeconds: 1000).isSuccess)
        tokens.restore(tokenId: twice.claims.id, uses: 1, expiresAt: twice.claims.expiresAt, revoked: false)
        #expect(tokens.verify(twice.token, nowSeconds: 1000).isSuccess)
        // 2,000 short-lived tokens used once each (the table reaches its first prune point,
        // 1,024 entries, with none expired yet: all are kept).
        for _ in 0..<2000 {
            let t = tokens.issue(tenant: "t", expiresInSeconds: 10, maxUses: 1, nowSeconds: 1000)
            #expect(tokens.verify(t.token, nowSeconds: 1000).isSuccess)
            tokens.restore(tokenId: t.claims.id, uses: 1, expiresAt: t.claims.expiresAt, revoked: false)
            #expect(!tokens.pruneIfGrown(nowSeconds: 1000) || tokens.rememberedTokens > 1000, "nothing has expired yet")
            #expect(tokens.verify(t.token, nowSeconds: 1001) == .failure(.usedUp))
        }
        #expect(tokens.rememberedTokens == 2001)
        // Later: the next prune drops every expired one, keeps the live ones and their counts.
        for _ in 0..<100 {
            let t = tokens.issue(tenant: "", expiresInSeconds: 10, maxUses: 1, nowSeconds: 2000)
            tokens.restore(tokenId: t.claims.id, uses: 1, expiresAt: t.claims.expiresAt, revoked: false)
            _ = tokens.pruneIfGrown(nowSeconds: 2000)
        }
        #expect(tokens.rememberedTokens == 101)  // `twice` and the 100 new ones; the 2,000 expired are gone
        #expect(tokens.verify(twice.token, nowSeconds: 2000).isSuccess)
        tokens.restore(tokenId: twice.claims.id, uses: 2, expiresAt: twice.claims.expiresAt, revoked: false)
        #expect(tokens.verify(twice.token, nowSeconds: 2000) == .failure(.usedUp))
        #expect(tokens.verify(twice.token, nowSeconds: 6000) == .failure(.expired))
        // A revocation refuses a token with uses left, and outlives nothing: it goes with the token.
        let revoked = tokens.issue(tenant: "", expiresInSeconds: 10, maxUses: 5, nowSeconds: 2000)
        tokens.restore(tokenId: revoked.claims.id, uses: 0, expiresAt: revoked.claims.expiresAt, revoked: true)
        #expect(tokens.verify(revoked.token, nowSeconds: 2000) == .failure(.revoked))
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
