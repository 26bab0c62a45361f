import { expect } from "chai";
import { acceptableLevels, choiceClaimNames, choiceErrors, choiceFromDisclosed, choiceOf, merchantPseudonymClaim, offersChoice, termsAreCoherent, type ChoiceTerms } from "@realname/agent";

/** The person's choice within what a merchant states (agent grants/choice.ts): pure rules, every refusal coded. */
describe("Grant choice: acceptable levels and optional claims", () => {
  const iss = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
  const terms: ChoiceTerms = { iss, level: "full", claims: ["full_name", "id_number"], age_over_18: false, accepted_levels: ["verified"], optional_claims: ["id_number"] };
  const codes = (t: ChoiceTerms, level: Parameters<typeof choiceOf>[1], without: string[] = []) => choiceErrors(t, choiceOf(t, level, without)).map((e) => e.code);

  it("lists the preferred level first, then the accepted ones", () => {
    expect(acceptableLevels(terms)).to.deep.equal(["full", "verified"]);
    expect(acceptableLevels({ ...terms, level: "verified", accepted_levels: ["full", "pseudonymous"] })).to.deep.equal(["verified", "full", "pseudonymous"]);
    expect(offersChoice({ iss, level: "full", claims: ["full_name"], age_over_18: false })).to.equal(false);
  });

  it("accepts the preference, a lower accepted level and an optional claim switched off", () => {
    expect(codes(terms, "full")).to.deep.equal([]);
    expect(codes(terms, "verified")).to.deep.equal([]);
    expect(codes(terms, "full", ["id_number"])).to.deep.equal([]);
    expect(choiceClaimNames(terms, choiceOf(terms, "full", ["id_number"]))).to.deep.equal(["real_name_verified", "full_name"]);
  });

  it("refuses a level outside the statement, a required claim switched off, and a claim never asked", () => {
    expect(codes(terms, "pseudonymous")).to.deep.equal(["ERR_LEVEL_NOT_ACCEPTED"]);
    expect(codes(terms, "everything" as never)).to.deep.equal(["ERR_LEVEL_NOT_ACCEPTED"]);
    expect(codes(terms, "full", ["full_name"])).to.deep.equal(["ERR_CLAIMS_MISSING"]);
    expect(choiceErrors(terms, { level: "full", claims: ["full_name", "birth_date"] }).map((e) => e.code)).to.deep.equal(["ERR_CLAIMS_NOT_ALLOWED"]);
    expect(choiceErrors(terms, { level: "verified", claims: ["full_name"] }).map((e) => e.code)).to.deep.equal(["ERR_CLAIMS_NOT_ALLOWED"]);
  });

  it("reads the choice a presentation's disclosures state", () => {
    expect(choiceFromDisclosed(terms, ["real_name_verified"])).to.deep.equal({ level: "verified", claims: [] });
    expect(choiceFromDisclosed(terms, ["real_name_verified", "full_name"])).to.deep.equal({ level: "full", claims: ["full_name"] });
    expect(choiceFromDisclosed(terms, ["real_name_verified", merchantPseudonymClaim(iss)]).level).to.equal("pseudonymous");
    // age_over_18 alone is `verified` when asked at that level, `full` when it was a full claim.
    expect(choiceFromDisclosed({ ...terms, age_over_18: true }, ["real_name_verified", "age_over_18"]).level).to.equal("verified");
    expect(choiceFromDisclosed(terms, ["real_name_verified", "age_over_18"]).level).to.equal("full");
  });

  it("finds incoherent statements", () => {
    expect(termsAreCoherent(terms)).to.equal(true);
    expect(termsAreCoherent({ ...terms, optional_claims: ["birth_date"] })).to.equal(false);
    expect(termsAreCoherent({ iss, level: "verified", claims: [], age_over_18: false, accepted_levels: ["full"] })).to.equal(false);
    expect(termsAreCoherent({ iss, level: "verified", claims: ["full_name"], age_over_18: false })).to.equal(false);
  });
});
