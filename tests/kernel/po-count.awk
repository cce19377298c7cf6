# po-count.awk: counts in one page_owner dump or one show_stacks file, for
# the kernel tests' checks (independent of page-ownerd's own parser).
#
#   awk -v pat=REGEX -f po-count.awk FILE
#
# A record "matches" when one of its stack frames matches REGEX (an awk ERE,
# e.g. "^ leaker_leak_pages\\+"). Prints "key value" lines:
#   kind           page_owner or show_stacks
#   records        records read
#   pages          sum of 1 << order (page_owner) or nr_base_pages (show_stacks)
#   malformed      records whose first two lines do not have the usual shape
#   match_records, match_pages
#   migrated       page_owner records with a "Page has been migrated" line
#   migrated_compaction  ... whose reason is compaction
#   ts_eq_free_ts  records (kernels with free_ts) whose ts equals free_ts
#   memcg_lines    records with a "Charged ... memcg" line
#   match_memcg.NAME  matching pages per memcg line ("none" when absent;
#                     "objcg:NAME" for "Charged (via objcg) to memcg NAME")

BEGIN {
	RS = ""
	FS = "\n"
	kind = ""
}

function frames_match(   i) {
	for (i = 1; i <= NF; i++)
		if (substr($i, 1, 1) == " " && $i ~ pat)
			return 1
	return 0
}

{
	records++
	if (kind == "")
		kind = ($1 ~ /^Page allocated via order /) ? "page_owner" : "show_stacks"

	if (kind == "show_stacks") {
		n = -1
		for (i = 1; i <= NF; i++)
			if ($i ~ /^nr_base_pages: [0-9]+$/)
				n = substr($i, 16) + 0
		if (n < 0) {
			malformed++
			next
		}
		pages += n
		if (pat != "" && frames_match()) {
			match_records++
			match_pages += n
		}
		next
	}

	if ($1 !~ /^Page allocated via order [0-9]+, mask / || $2 !~ /^PFN /) {
		malformed++
		next
	}
	order = $1
	sub(/^Page allocated via order /, "", order)
	sub(/,.*/, "", order)
	np = 2 ^ order
	pages += np

	if (match($1, /, ts [0-9]+ ns, free_ts [0-9]+ ns/)) {
		t = substr($1, RSTART, RLENGTH)
		split(t, w, " ")
		if (w[3] == w[6])
			ts_eq_free_ts++
	}

	memcg = "none"
	for (i = 3; i <= NF; i++) {
		if ($i ~ /^Page has been migrated/) {
			migrated++
			if ($i ~ /reason: compaction$/)
				migrated_compaction++
		}
		if ($i ~ /^Charged /) {
			memcg_lines++
			memcg = $i
			sub(/^Charged (\(via objcg\) )?to (offline )?memcg /, "", memcg)
			if ($i ~ /via objcg/)
				memcg = "objcg:" memcg
		}
	}

	if (pat != "" && frames_match()) {
		match_records++
		match_pages += np
		by_memcg[memcg] += np
	}
}

END {
	printf "kind %s\n", kind == "" ? "empty" : kind
	printf "records %d\n", records
	printf "pages %d\n", pages
	printf "malformed %d\n", malformed
	printf "match_records %d\n", match_records
	printf "match_pages %d\n", match_pages
	printf "migrated %d\n", migrated
	printf "migrated_compaction %d\n", migrated_compaction
	printf "ts_eq_free_ts %d\n", ts_eq_free_ts
	printf "memcg_lines %d\n", memcg_lines
	for (m in by_memcg)
		printf "match_memcg.%s %d\n", m, by_memcg[m]
}
