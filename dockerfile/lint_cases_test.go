package dockerfile

import (
	"fmt"
	"runtime"
)

// Images of the conformance registry (linux/amd64, single-platform).
const (
	reg     = "127.0.0.1:5000/kiln-conformance/"
	bb      = reg + "busybox"
	golang  = reg + "golang"                   // ENV GOPATH …
	noLayer = reg + "bk_cmd_shell-parent"      // no layers: built on as scratch
	obImage = reg + "onbuild_child-parent"     // ONBUILD ARG P, RUN …, COPY ctx.txt …, ENV OB=1
	obDeps  = reg + "bk_onbuild_new_deps-base" // ONBUILD COPY --from=…/debian …
)

// lintCase is a Dockerfile and what Lint finds in it. The reference test
// (KILN_LINT_REFERENCE=1) checks the same cases against buildkitd.
type lintCase struct {
	name     string
	df       string
	args     map[string]string
	target   string
	ignore   string            // .dockerignore
	files    map[string]string // more files in the context
	forBuild bool              // check as a build does
	want     []string          // "LINE Rule: message", in order
	wantErr  string            // in LintResult.Err
}

// lintCases: one or more Dockerfiles per rule, then the directives, then
// what stops a check.
var lintCases = []lintCase{
	{name: "clean", df: "FROM " + bb + " AS base\nENV A=1\nRUN echo $A\nCMD [\"sh\"]\n"},
	{name: "StageNameCasing", df: "FROM " + bb + " AS Build\nRUN true\n",
		want: []string{"1 StageNameCasing: Stage name 'Build' should be lowercase"}},
	{name: "FromAsCasing", df: "FROM " + bb + " as build\nRUN true\n",
		want: []string{"1 FromAsCasing: 'as' and 'FROM' keywords' casing do not match"}},
	{name: "FromAsCasing lower", df: "from " + bb + " AS build\nrun true\n",
		want: []string{"1 FromAsCasing: 'AS' and 'from' keywords' casing do not match"}},
	{name: "NoEmptyContinuation", df: "FROM " + bb + "\nRUN echo a \\\n\n  && echo b\n",
		want: []string{"4 NoEmptyContinuation: Empty continuation line"}},
	{name: "ConsistentInstructionCasing", df: "from " + bb + "\nrun true\nRUN true\nCopy a /a\n",
		files: map[string]string{"a": "a"},
		want: []string{"3 ConsistentInstructionCasing: Command 'RUN' should match the case of the command majority (lowercase)",
			"4 ConsistentInstructionCasing: Command 'Copy' should match the case of the command majority (lowercase)"}},
	{name: "DuplicateStageName", df: "FROM " + bb + " AS a\nRUN true\nFROM " + bb + " AS a\nRUN true\n",
		want: []string{"3 DuplicateStageName: Duplicate stage name \"a\", stage names should be unique"}},
	{name: "ReservedStageName", df: "FROM " + bb + " AS scratch\nRUN true\nFROM " + bb + " AS context\nRUN true\n",
		want: []string{"1 ReservedStageName: Stage name should not use the same name as reserved stage \"scratch\"",
			"3 ReservedStageName: Stage name should not use the same name as reserved stage \"context\""}},
	{name: "JSONArgsRecommended", df: "FROM " + bb + "\nENTRYPOINT my-app start\nCMD echo hi\n",
		want: []string{"2 JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
			"3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"}},
	{name: "JSONArgsRecommended after SHELL", df: "FROM " + bb + " AS base\nSHELL [\"/bin/sh\", \"-c\"]\nFROM base\nCMD echo hi\n"},
	{name: "MaintainerDeprecated", df: "FROM " + bb + "\nMAINTAINER me@example.com\n",
		want: []string{"2 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label"}},
	{name: "UndefinedArgInFrom", df: "ARG VERSION=latest\nFROM " + bb + ":${VERSIO:-latest}\n",
		want: []string{"2 UndefinedArgInFrom: FROM argument 'VERSIO' is not declared (did you mean VERSION?)"}},
	{name: "UndefinedArgInFrom platform", df: "FROM --platform=$BULDPLATFORM " + bb + "\n",
		want:    []string{"1 UndefinedArgInFrom: FROM argument 'BULDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"},
		wantErr: "empty platform value from expression $BULDPLATFORM"},
	{name: "WorkdirRelativePath", df: "FROM " + bb + "\nWORKDIR app\nWORKDIR sub\n",
		want: []string{"2 WorkdirRelativePath: Relative workdir \"app\" can have unexpected results if the base image changes"}},
	{name: "WorkdirRelativePath inherited", df: "FROM " + bb + " AS base\nWORKDIR /app\nFROM base\nWORKDIR sub\n"},
	{name: "UndefinedVar", df: "FROM " + bb + "\nARG foo\nENV PATH=$PATH:/x FOOBAR=1\nCOPY $fooo $foo /\nENV A=$FOOBAR B=$BAR\n",
		want: []string{"4 UndefinedVar: Usage of undefined variable '$fooo'",
			"5 UndefinedVar: Usage of undefined variable '$BAR'"}},
	{name: "UndefinedVar same ENV", df: "FROM " + bb + "\nENV A=1 B=$A\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$A'"}},
	{name: "UndefinedVar ARG default", df: "FROM " + bb + "\nARG A=$NOPE\nARG B=$A\nUSER $B\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$NOPE'"}},
	{name: "UndefinedVar global ARG", df: "ARG G=1\nFROM " + bb + "\nRUN echo $G\nLABEL g=$G\nARG G\nLABEL h=$G\n",
		want: []string{"4 UndefinedVar: Usage of undefined variable '$G'"}},
	{name: "UndefinedVar from stage", df: "FROM " + bb + " AS base\nARG X=1\nENV Y=2\nFROM base\nLABEL x=$X y=$Y z=$Z\n",
		want: []string{"5 UndefinedVar: Usage of undefined variable '$Z' (did you mean $X?)"}},
	{name: "UndefinedVar scratch", df: "FROM scratch\nENV P=$PATH Q=$HOME\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$HOME'"}},
	{name: "MultipleInstructionsDisallowed", df: "FROM " + bb + "\nCMD [\"a\"]\nHEALTHCHECK NONE\nCMD [\"b\"]\nHEALTHCHECK CMD [\"x\"]\nENTRYPOINT [\"e\"]\n",
		want: []string{"2 MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in the same stage because only the last one will be used",
			"3 MultipleInstructionsDisallowed: Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used"}},
	{name: "LegacyKeyValueFormat", df: "FROM " + bb + "\nENV FOO bar\nLABEL maintainer me\n",
		want: []string{"2 LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
			"3 LegacyKeyValueFormat: \"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format"}},
	{name: "InvalidBaseImagePlatform", df: "FROM --platform=linux/s390x " + bb + " AS s390x\nRUN true\n",
		want: []string{fmt.Sprintf("1 InvalidBaseImagePlatform: Base image %s was pulled with platform \"linux/%s\", expected \"linux/s390x\" for current build", bb, runtime.GOARCH)}},
	{name: "RedundantTargetPlatform", df: "FROM --platform=$TARGETPLATFORM " + bb + "\nFROM --platform=${TARGETPLATFORM} " + bb + "\n",
		want: []string{"1 RedundantTargetPlatform: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
			"2 RedundantTargetPlatform: Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior"}},
	{name: "SecretsUsedInArgOrEnv", df: "FROM " + bb + "\nARG API_TOKEN GITHUB_TOKEN_FILE\nENV DB_PASSWORD=x public_key=y\n",
		want: []string{"2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"API_TOKEN\")",
			"3 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"DB_PASSWORD\")"}},
	{name: "InvalidDefaultArgInFrom", df: "ARG TAG\nFROM " + bb + ":${TAG}\n", args: map[string]string{"TAG": "latest"},
		want: []string{"2 InvalidDefaultArgInFrom: Default value for ARG " + bb + ":${TAG} results in empty or invalid base image name"}},
	{name: "FromPlatformFlagConstDisallowed", df: "FROM --platform=linux/amd64 " + bb + "\nFROM --platform=linux/amd64 " + bb + " AS build-amd64\n",
		want: []string{"1 FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value \"linux/amd64\""}},
	{name: "CopyIgnoredFile", df: "FROM " + bb + "\nCOPY app secret.txt /\nADD ./logs/a.log /l\n",
		ignore: "secret.txt\nlogs\n", files: map[string]string{"app": "a", "secret.txt": "s", "logs/a.log": "l"},
		want: []string{"2 CopyIgnoredFile: Attempting to Copy file \"secret.txt\" that is excluded by .dockerignore",
			"3 CopyIgnoredFile: Attempting to Add file \"logs/a.log\" that is excluded by .dockerignore"}},
	{name: "CopyIgnoredFile exceptions", df: "FROM " + bb + "\nCOPY secret.txt /\n",
		ignore: "secret.txt\n!keep\n", files: map[string]string{"secret.txt": "s"}},
	{name: "InvalidDefinitionDescription", df: "# check=experimental=InvalidDefinitionDescription\nFROM " + bb + "\n# the port\nARG port=80\n# bar is the build stage\nFROM " + bb + " AS bar\n# version of it\nARG version=1\n# the last stage\nFROM " + bb + " AS last\n# args\nARG a b\n",
		want: []string{"4 InvalidDefinitionDescription: Comment for ARG should follow the format: `# port <description>`",
			"10 InvalidDefinitionDescription: Comment for FROM should follow the format: `# last <description>`",
			"12 InvalidDefinitionDescription: Comment for ARG should follow the format: `# <arg_key> <description>`"}},
	{name: "InvalidDefinitionDescription not experimental", df: "FROM " + bb + "\n# the port\nARG port=80\n"},
	{name: "ExposeProtoCasing", df: "FROM " + bb + "\nEXPOSE 80/TcP 53/udp\n",
		want: []string{"2 ExposeProtoCasing: Defined protocol '80/TcP' in EXPOSE instruction should be lowercase"}},
	{name: "ExposeInvalidFormat", df: "FROM " + bb + "\nARG P=8080\nEXPOSE 127.0.0.1:80:80 $P:80/tcp\n",
		want: []string{"3 ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80/tcp'",
			"3 ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'"}},

	// directives
	{name: "skip", df: "# check=skip=JSONArgsRecommended,StageNameCasing\nFROM " + bb + " AS Base\nCMD echo\nENV A b\n",
		want: []string{"4 LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"}},
	{name: "skip all", df: "# check=skip=all\nFROM " + bb + " AS Base\nCMD echo\n"},
	{name: "skip per instruction", df: "FROM " + bb + "\n# check=skip=JSONArgsRecommended\nCMD echo\nENTRYPOINT echo\n",
		want: []string{"4 JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals"}},
	{name: "error", df: "# check=error=true\nFROM " + bb + "\nCMD echo\nENV A b\n",
		want: []string{"3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
			"4 LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"},
		wantErr: "lint violation found for rules: JSONArgsRecommended, LegacyKeyValueFormat"},
	{name: "error clean", df: "# check=error=true\nFROM " + bb + "\nCMD [\"echo\"]\n"},
	{name: "skip and error", df: "# check=skip=JSONArgsRecommended;error=true\nFROM " + bb + "\nCMD echo\n"},
	{name: "check build arg", df: "# check=skip=all\nFROM " + bb + "\nCMD echo\n", args: map[string]string{"BUILDKIT_DOCKERFILE_CHECK": "skip=LegacyKeyValueFormat"},
		want: []string{"3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"}},
	{name: "bad check directive", df: "# check=nope=1\nFROM " + bb + "\nCMD echo\n",
		wantErr: "failed to parse check options: invalid check option \"nope\""},

	// what stops a check, and which stages it covers
	{name: "blank base name", df: "ARG B\nFROM $B\nCMD echo\n",
		want:    []string{"2 InvalidDefaultArgInFrom: Default value for ARG $B results in empty or invalid base image name"},
		wantErr: "base name ($B) should not be blank"},
	{name: "copy from later stage", df: "FROM " + bb + "\nCMD echo\nCOPY --from=later /a /a\nCMD echo\nFROM " + bb + " AS later\nCMD echo\n",
		want:    []string{"2 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"},
		wantErr: "cannot copy from stage \"later\", it needs to be defined before current stage \"stage-0\""},
	{name: "unreachable stage", df: "FROM " + bb + " AS unused\nCMD echo\nFROM " + bb + "\nCMD [\"x\"]\n",
		want: []string{"2 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"}},
	{name: "unreachable stage in a build", df: "FROM " + bb + " AS Unused\nCMD echo\nFROM " + bb + "\nCMD [\"x\"]\n", forBuild: true,
		want: []string{"1 StageNameCasing: Stage name 'Unused' should be lowercase"}},
	{name: "target", df: "FROM " + bb + " AS a\nCMD echo\nFROM " + bb + " AS b\nCMD echo\n", target: "a",
		want: []string{"2 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"}},
	{name: "onbuild", df: "FROM " + bb + " AS base\nONBUILD ENV X=$UNDEF\nFROM base\nRUN true\n",
		want: []string{"3 UndefinedVar: Usage of undefined variable '$UNDEF'"}},

	// base images
	{name: "UndefinedVar base image env", df: "FROM " + golang + "\nENV X=$GOPATH Y=$GOPAHT\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$GOPAHT' (did you mean $GOPATH?)"}},
	{name: "InvalidBaseImagePlatform without layers", df: "FROM --platform=linux/s390x " + noLayer + " AS s390x\nRUN true\n"},
	{name: "InvalidBaseImagePlatform COPY --from", df: "FROM scratch\nCOPY --from=" + bb + " /bin/sh /sh\n"},
	{name: "onbuild image", df: "FROM " + obImage + "\nLABEL a=$OB b=$P c=$Q\n", files: map[string]string{"ctx.txt": "x"},
		want: []string{"2 UndefinedVar: Usage of undefined variable '$Q' (did you mean $OB?)"}},
	{name: "onbuild image new deps", df: "FROM " + obDeps + "\nENV A=$B\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$B'"}},
	{name: "onbuild trigger undefined", df: "FROM " + bb + " AS base\nONBUILD LABEL x=$NOPE\nFROM base AS child\nRUN true\n",
		want: []string{"3 UndefinedVar: Usage of undefined variable '$NOPE'"}},

	// more of each rule
	{name: "UndefinedArgInFrom several", df: "ARG A=1\nFROM " + bb + ":${TAG:-latest}${SUFFIX}\n",
		want: []string{"2 UndefinedArgInFrom: FROM argument 'SUFFIX' is not declared",
			"2 UndefinedArgInFrom: FROM argument 'TAG' is not declared (did you mean A?)"}},
	{name: "FROM build platform", df: "FROM --platform=$BUILDPLATFORM " + bb + " AS b\nFROM --platform=linux " + bb + "\n",
		want: []string{"2 FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value \"linux\""}},
	{name: "RedundantTargetPlatform overridden", df: "ARG TARGETPLATFORM\nFROM --platform=$TARGETPLATFORM " + bb + "\n",
		want: []string{"2 RedundantTargetPlatform: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior"}},
	{name: "SecretsUsedInArgOrEnv names", df: "FROM " + bb + "\nARG AUTH secret_MESSAGE api_key KEY_FILE MY_TOKEN_VERSION apikeys\n",
		want: []string{"2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"AUTH\")",
			"2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"secret_MESSAGE\")",
			"2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"api_key\")"}},
	{name: "WorkdirRelativePath expanded", df: "FROM " + bb + "\nARG D=/app\nWORKDIR $D\nWORKDIR rel\n"},
	{name: "UndefinedVar heredoc", df: "FROM " + bb + "\nCOPY <<EOF /x\n$UNSET ${PATH}\nEOF\nCOPY <<'EOF' /y\n$QUOTED\nEOF\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$UNSET'"}},
	{name: "UndefinedVar mount", df: "FROM " + bb + "\nRUN --mount=type=cache,target=$CACHE_DIR true\n",
		want: []string{"2 UndefinedVar: Usage of undefined variable '$CACHE_DIR'"}},
	{name: "NoEmptyContinuation comment", df: "FROM " + bb + "\nRUN echo a \\\n# a comment\n  && echo b \\\n\n  && echo c\nRUN true\n",
		want: []string{"6 NoEmptyContinuation: Empty continuation line"}},
	{name: "experimental all", df: "# check=experimental=all\nFROM " + bb + "\n# nothing\nARG x\n",
		want: []string{"4 InvalidDefinitionDescription: Comment for ARG should follow the format: `# x <description>`"}},
	{name: "skip experimental has no effect", df: "# check=experimental=all;skip=InvalidDefinitionDescription\nFROM " + bb + "\n# nothing\nARG x\n",
		want: []string{"4 InvalidDefinitionDescription: Comment for ARG should follow the format: `# x <description>`"}},
	{name: "FROM stage name casing", df: "FROM " + bb + " AS base\nFROM Base\n",
		want:    []string{"2 InvalidDefaultArgInFrom: Default value for ARG Base results in empty or invalid base image name"},
		wantErr: "failed to parse stage name \"Base\""},
	{name: "COPY --from stage", df: "FROM " + bb + " AS a\nENV A=1\nFROM scratch\nCOPY --from=a /etc/passwd /p\nCOPY --from=0 /etc/group /g\n"},
	{name: "ExposeProtoCasing variable", df: "FROM " + bb + "\nENV PROTO=UDP\nEXPOSE 53/$PROTO\n",
		want: []string{"3 ExposeProtoCasing: Defined protocol '53/UDP' in EXPOSE instruction should be lowercase"}},
	{name: "COPY --chmod bad", df: "FROM " + bb + "\nCMD echo\nCOPY --chmod=999 a /a\nCMD echo\n", files: map[string]string{"a": "a"},
		want:    []string{"2 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"},
		wantErr: "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777"},
	{name: "target missing", df: "FROM " + bb + " AS build\nCMD echo\n", target: "biuld",
		wantErr: "target stage \"biuld\" could not be found"},
	{name: "circular", df: "FROM " + bb + " AS a\nCOPY --from=b /x /x\nFROM " + bb + " AS b\nCOPY --from=a /x /x\n",
		wantErr: "circular dependency detected on stage: a"},
}
