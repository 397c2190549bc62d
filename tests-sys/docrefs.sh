#!/usr/bin/env bash
# Every reference to the design notes resolves: each "docs/FILE.md §N" in
# the tree names a file of docs/ and a heading "§N" in it, each link
# between the notes names a note that exists, and nothing cites a
# document that is not in the repository.
#
# usage: tests-sys/docrefs.sh   (from the top of a git checkout)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
# This script names the patterns it looks for: it does not read itself.
self=":!tests-sys/docrefs.sh"

check() {
	local bad=0 line
	# Leftovers of the outside documents.
	while IFS= read -r line; do
		echo "unresolved: $line"
		bad=1
	done < <({ git grep -nI -e 'SPEC[ ]§' -e 'STYLE[ ]§' -- . ':!docs/' "$self" || true
		git grep -nIw -e 'SPEC' -- . ':!docs/' "$self" || true; } | sort -u)
	# Every docs/FILE.md [§N] (and a list after it), in the whole tree;
	# inside docs/, also [FILE.md §N].
	while IFS= read -r line; do
		echo "unresolved: $line"
		bad=1
	done < <(git ls-files -z -- . "$self" | xargs -0 perl -0777 -ne '
		our %heads;
		sub heads {
			my ($f) = @_;
			return $heads{$f} if exists $heads{$f};
			open(my $h, "<", $f) or return $heads{$f} = undef;
			my %s;
			local $/;
			my $body = <$h>;
			$s{$1} = 1 while $body =~ /^#+[ \t]+§(\d+(?:\.\d+)*)[ \t.]/mg;
			return $heads{$f} = \%s;
		}
		my $num = qr{\d+(?:\.\d+)*};
		my $text = $_;
		next if $text =~ /\0/;
		my $indocs = $ARGV =~ m{^docs/};
		my @refs;
		my $lead = qr{(?:[ \t]*\n[ \t]*(?://!|///|//|\*|\#)?)?[ \t]*};
		while ($text =~ /\b(docs\/[A-Za-z0-9_-]+\.md)(?:($lead)§($num)((?:(?:,[ \t]*|[ \t]+and[ \t]+|\/|-)§$num)*))?/g) {
			my ($f, $n, $rest) = ($1, $3, $4 // "");
			my $at = substr($text, 0, $-[0]) =~ tr/\n//;
			push @refs, [$f, $n, $at + 1];
			push @refs, [$f, $1, $at + 1] while $rest =~ /§($num)/g;
		}
		if ($indocs) {
			while ($text =~ /\[([A-Za-z0-9_-]+\.md) §($num)/g) {
				my $at = substr($text, 0, $-[0]) =~ tr/\n//;
				push @refs, ["docs/$1", $2, $at + 1];
			}
			while ($text =~ /\]\(([A-Za-z0-9_-]+\.md)\)/g) {
				my $at = substr($text, 0, $-[0]) =~ tr/\n//;
				push @refs, ["docs/$1", undef, $at + 1];
			}
		}
		for my $r (@refs) {
			my ($f, $n, $l) = @$r;
			my $h = heads($f);
			if (!defined $h) {
				print "$ARGV:$l: $f: no such file\n";
			} elsif (defined $n && !$h->{$n}) {
				print "$ARGV:$l: $f §$n: no such heading\n";
			}
		}
	')
	if [ "$bad" = 0 ]; then
		echo "every reference to docs/ resolves"
	fi
	return "$bad"
}

if check; then
	echo "docs: 1 passed, 0 failed, 0 skipped"
else
	echo "docs: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
