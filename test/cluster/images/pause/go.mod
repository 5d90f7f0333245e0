module cluster-dns-test/pause

go 1.22
