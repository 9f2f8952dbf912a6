package mysqltesting

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	// EnvGalera set to "1" makes SharedServer a three-node MariaDB Galera cluster on loopback
	// instead of one mariadbd (make test-galera). NewDatabase's DSN names the first node;
	// NodeDSN points a DSN at another.
	EnvGalera = "PIPELINES_TEST_GALERA"

	galeraNodes = 3
	// galeraProvider is where Debian's galera-4 package puts MariaDB's wsrep provider.
	galeraProvider = "/usr/lib/galera/libgalera_smm.so"
	galeraHint     = "run hack/ensure-mariadb.sh as root (it installs galera-4 as well)"
	// syncTimeout bounds the wait for a started node to join the cluster and be synced.
	syncTimeout = 2 * time.Minute
)

// newGaleraCluster starts galeraNodes mariadbd processes forming one Galera cluster: the first
// bootstraps it (--wsrep-new-cluster), the others join it one at a time. Each node has its own
// data dir, SQL port, group-communication, IST and SST ports.
func newGaleraCluster() (*Server, error) {
	if _, err := os.Stat(galeraProvider); err != nil {
		return nil, &missingDependencyError{msg: fmt.Sprintf("%s=1 but no Galera provider at %s (%s)", EnvGalera, galeraProvider, galeraHint)}
	}
	nodes := make([]*process, galeraNodes)
	destroy := func() {
		for _, p := range nodes {
			if p != nil {
				p.destroy()
			}
		}
	}
	// Every port is chosen up front: each node's cluster address lists all of them.
	type ports struct{ sql, gcomm, ist, sst int }
	var all []ports
	var gcomm []string
	for range galeraNodes {
		var ps [4]int
		for i := range ps {
			port, err := freePort()
			if err != nil {
				return nil, err
			}
			ps[i] = port
		}
		all = append(all, ports{ps[0], ps[1], ps[2], ps[3]})
		gcomm = append(gcomm, "127.0.0.1:"+strconv.Itoa(ps[1]))
	}
	for i := range nodes {
		p, err := prepareProcess()
		if err != nil {
			destroy()
			return nil, err
		}
		nodes[i] = p
		p.port = all[i].sql
		p.extra = []string{
			"--wsrep-on=ON",
			"--wsrep-provider=" + galeraProvider,
			"--wsrep-cluster-name=pipelines-test",
			"--wsrep-cluster-address=gcomm://" + strings.Join(gcomm, ","),
			"--wsrep-node-name=node" + strconv.Itoa(i),
			"--wsrep-node-address=127.0.0.1",
			"--wsrep-node-incoming-address=" + p.addr(),
			fmt.Sprintf("--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;gcache.size=64M",
				all[i].gcomm, all[i].ist),
			"--wsrep-sst-receive-address=127.0.0.1:" + strconv.Itoa(all[i].sst),
			// What Galera requires of every node.
			"--binlog-format=ROW",
			"--innodb-autoinc-lock-mode=2",
			"--default-storage-engine=InnoDB",
		}
	}
	first := nodes[0]
	first.extra = append(first.extra, "--wsrep-new-cluster")
	// The joiners start from a copy of the first node's data, stopped cleanly after it
	// bootstrapped: they then hold the cluster's state (its UUID and position) and join by an
	// incremental transfer, not a snapshot (rsync's would need their data dirs writable by
	// nobody when the tests run as root; mariabackup is another package).
	err := first.start()
	if err == nil {
		err = waitSynced(first)
	}
	if err == nil {
		err = first.stop()
	}
	for _, p := range nodes[1:] {
		if err == nil {
			err = cloneData(first, p)
		}
	}
	if err != nil {
		destroy()
		return nil, fmt.Errorf("galera node 0: %w", err)
	}
	for i, p := range nodes {
		err := p.start()
		if err == nil {
			err = waitSynced(p)
		}
		if err != nil {
			// A joiner's failure is often the donor's: say what the first node logged too.
			if i > 0 {
				err = fmt.Errorf("%w\nstate-transfer and error lines of the first node's %s:\n%s", err, first.path("error.log"), sstLines(first))
			}
			destroy()
			return nil, fmt.Errorf("galera node %d: %w", i, err)
		}
	}
	// A restart of the first node must join the others, not start a second cluster.
	first.extra = first.extra[:len(first.extra)-1]
	return &Server{base: first.baseConfig(), proc: first, nodes: nodes, shared: true}, nil
}

// cloneData replaces p's data dir with a copy of from's, less from's view of the cluster.
func cloneData(from, p *process) error {
	data := p.path("data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	if err := copyTree(from.path("data"), data); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(data, "gvwstate.dat")); err != nil && !os.IsNotExist(err) {
		return err
	}
	// Even an incremental join ends with the donor's rsync writing a marker file into the
	// joiner's data dir, through an rsync daemon that runs as nobody when the tests run as root.
	if os.Geteuid() != 0 {
		return nil
	}
	for _, dir := range []string{filepath.Dir(p.dir), p.dir} {
		if err := os.Chmod(dir, 0o711); err != nil {
			return err
		}
	}
	return os.Chmod(data, 0o777)
}

// waitSynced waits until the node reports itself synced with the cluster and ready for queries.
func waitSynced(p *process) error {
	cfg := p.baseConfig()
	cfg.Timeout = 2 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer func() { _ = db.Close() }()
	deadline := time.Now().Add(syncTimeout)
	var state, ready string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var name string
		err = db.QueryRowContext(ctx, "SHOW STATUS LIKE 'wsrep_local_state_comment'").Scan(&name, &state)
		if err == nil {
			err = db.QueryRowContext(ctx, "SHOW STATUS LIKE 'wsrep_ready'").Scan(&name, &ready)
		}
		cancel()
		if err == nil && state == "Synced" && ready == "ON" {
			return nil
		}
		time.Sleep(10 * pollInterval)
	}
	return fmt.Errorf("not synced after %v (state %q, ready %q, err %v); last lines of %s:\n%s",
		syncTimeout, state, ready, err, p.path("error.log"), p.logTail(0))
}

// NodeDSN returns dsn pointed at node i (modulo the cluster's size) of the shared Galera cluster,
// same database and parameters, so that tests opening several Backends give each replica its
// own node. Without a cluster it returns dsn unchanged.
func NodeDSN(dsn string, i int) string {
	shared.mu.Lock()
	srv := shared.srv
	shared.mu.Unlock()
	if srv == nil || len(srv.nodes) == 0 {
		return dsn
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.Addr != srv.nodes[0].addr() {
		return dsn
	}
	cfg.Addr = srv.nodes[i%len(srv.nodes)].addr()
	return cfg.FormatDSN()
}

// sstLines are the lines of a node's log about state transfers and errors: a donor's side of a
// failed join, which its last lines have long scrolled past.
func sstLines(p *process) string {
	data, err := os.ReadFile(p.path("error.log"))
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "SST") || strings.Contains(line, "ERROR") {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}
