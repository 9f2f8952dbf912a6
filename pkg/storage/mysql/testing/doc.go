// Package mysqltesting gives tests a MariaDB server, the way
// k8s.io/apiserver/pkg/storage/etcd3/testing gives them etcd.
//
// Most tests call SharedServer(t).NewDatabase(t) and get a DSN for a fresh
// database of their own: one server per test process, one database per test,
// so tests and test packages run in parallel without seeing each other's rows.
// Fault tests that stop, kill and restart the database use StartPrivateServer.
// Setting MYSQL_TEST_DSN points SharedServer at an existing server instead of
// starting one.
//
// A private server is a mariadbd child of the test process with its own data
// directory under os.TempDir() (prefix "mysqltesting-"), its own free port on
// 127.0.0.1, socket and pid file. mariadb-install-db runs once per test
// process; every server starts from a copy of that template, which takes a
// fraction of a second. The server dies with the test process, even when the
// test binary is killed, and directories left behind by killed test processes
// are removed by the next one.
//
// A package that uses the shared server stops it after its tests:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		mysqltesting.StopSharedServer()
//		os.Exit(code)
//	}
//
// Without MariaDB installed the tests skip, telling the reader to run
// hack/ensure-mariadb.sh; with PIPELINES_REQUIRE_TESTDEPS=1 (CI) they fail.
package mysqltesting
