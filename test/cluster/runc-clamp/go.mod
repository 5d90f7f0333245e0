module cluster-dns/test/cluster/runc-clamp

go 1.25.0
