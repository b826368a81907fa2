package dockerfile

import "github.com/moby/buildkit/frontend/dockerfile/linter"

// LintRule describes one of BuildKit's Dockerfile checks.
type LintRule struct {
	Name        string
	Description string
	URL         string // "" when the rule has no documentation page
	// Experimental rules run only when "# check=experimental=<Name>" (or
	// experimental=all) names them; "skip=" does not apply to them.
	Experimental bool
}

// LintRules lists every rule Lint knows, in BuildKit's order (its linter
// package's ruleset, which gives the names, descriptions and messages).
func LintRules() []LintRule {
	return []LintRule{
		ruleOf(&linter.RuleStageNameCasing),
		ruleOf(&linter.RuleFromAsCasing),
		ruleOf(&linter.RuleNoEmptyContinuation),
		ruleOf(&linter.RuleConsistentInstructionCasing),
		ruleOf(&linter.RuleDuplicateStageName),
		ruleOf(&linter.RuleReservedStageName),
		ruleOf(&linter.RuleJSONArgsRecommended),
		ruleOf(&linter.RuleMaintainerDeprecated),
		ruleOf(&linter.RuleUndefinedArgInFrom),
		ruleOf(&linter.RuleWorkdirRelativePath),
		ruleOf(&linter.RuleUndefinedVar),
		ruleOf(&linter.RuleMultipleInstructionsDisallowed),
		ruleOf(&linter.RuleLegacyKeyValueFormat),
		ruleOf(&linter.RuleInvalidBaseImagePlatform),
		ruleOf(&linter.RuleRedundantTargetPlatform),
		ruleOf(&linter.RuleSecretsUsedInArgOrEnv),
		ruleOf(&linter.RuleInvalidDefaultArgInFrom),
		ruleOf(&linter.RuleFromPlatformFlagConstDisallowed),
		ruleOf(&linter.RuleCopyIgnoredFile),
		ruleOf(&linter.RuleInvalidDefinitionDescription),
		ruleOf(&linter.RuleExposeProtoCasing),
		ruleOf(&linter.RuleExposeInvalidFormat),
	}
}

func ruleOf[F any](r *linter.LinterRule[F]) LintRule {
	return LintRule{Name: r.Name, Description: r.Description, URL: r.URL, Experimental: r.Experimental}
}
