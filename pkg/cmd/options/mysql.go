/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package options holds the command-line options of pipelines-apiserver that
// k8s.io/apiserver does not provide.
package options

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// MySQLOptions configure the database. Either DSN or Host names the server.
type MySQLOptions struct {
	DSN          string
	Host         string
	Port         int
	User         string
	PasswordFile string
	Database     string

	TLSCAFile     string
	TLSCertFile   string
	TLSKeyFile    string
	TLSServerName string

	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration

	Prefix            string
	WatchPollInterval time.Duration
	HistoryRetention  time.Duration
	BookmarkInterval  time.Duration
	WatchQueueBytes   int64
	DecodedCacheBytes int64
	ConnectTimeout    time.Duration
	StatementTimeout  time.Duration
}

// tlsConfigName is the name under which the database TLS settings are registered with
// the driver, so that they travel inside the DSN.
const tlsConfigName = "pipelines-apiserver"

// NewMySQLOptions returns the defaults.
func NewMySQLOptions() *MySQLOptions {
	return &MySQLOptions{
		Port:              3306,
		User:              "pipelines",
		Database:          "pipelines",
		MaxOpenConns:      32,
		MaxIdleConns:      32,
		ConnMaxLifetime:   10 * time.Minute,
		Prefix:            "/registry",
		WatchPollInterval: 100 * time.Millisecond,
		HistoryRetention:  5 * time.Minute,
		BookmarkInterval:  time.Minute,
		WatchQueueBytes:   mysqlstorage.DefaultWatchQueueBytes,
		DecodedCacheBytes: mysqlstorage.DefaultDecodedCacheBytes,
		ConnectTimeout:    5 * time.Second,
		StatementTimeout:  30 * time.Second,
	}
}

// AddFlags adds the options to fs, which the command shows as the "mysql" section.
func (o *MySQLOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DSN, "mysql-dsn", o.DSN, "Go MySQL driver data source name (user:password@tcp(host:port)/database?params). "+
		"Prefer --mysql-host with --mysql-password-file, which keep the password out of the process list.")
	fs.StringVar(&o.Host, "mysql-host", o.Host, "Host name or IP address of the MySQL-compatible server.")
	fs.IntVar(&o.Port, "mysql-port", o.Port, "Port of the MySQL-compatible server.")
	fs.StringVar(&o.User, "mysql-user", o.User, "Database user.")
	fs.StringVar(&o.PasswordFile, "mysql-password-file", o.PasswordFile, "File holding the database user's password; a trailing newline is ignored.")
	fs.StringVar(&o.Database, "mysql-database", o.Database, "Database (schema) that holds the tables; it must exist.")
	fs.StringVar(&o.TLSCAFile, "mysql-tls-ca-file", o.TLSCAFile, "CA bundle to verify the database server's certificate. Setting it turns TLS on.")
	fs.StringVar(&o.TLSCertFile, "mysql-tls-cert-file", o.TLSCertFile, "Client certificate for the database, with --mysql-tls-key-file.")
	fs.StringVar(&o.TLSKeyFile, "mysql-tls-key-file", o.TLSKeyFile, "Private key of --mysql-tls-cert-file.")
	fs.StringVar(&o.TLSServerName, "mysql-tls-server-name", o.TLSServerName, "Name to verify in the server's certificate, if not the host name.")
	fs.IntVar(&o.MaxOpenConns, "mysql-max-open-conns", o.MaxOpenConns, "Largest number of open connections to the database.")
	fs.IntVar(&o.MaxIdleConns, "mysql-max-idle-conns", o.MaxIdleConns, "Largest number of idle connections kept open.")
	fs.DurationVar(&o.ConnMaxLifetime, "mysql-conn-max-lifetime", o.ConnMaxLifetime, "How long a connection is reused before it is replaced.")
	fs.StringVar(&o.Prefix, "mysql-prefix", o.Prefix, "Prefix of every storage key, as --etcd-prefix is for etcd.")
	fs.DurationVar(&o.WatchPollInterval, "mysql-watch-poll-interval", o.WatchPollInterval,
		"How often the change log is polled for commits made by other replicas. Commits made by this replica reach its watchers at once.")
	fs.DurationVar(&o.HistoryRetention, "mysql-history-retention", o.HistoryRetention,
		"How long history is kept for watches and continue tokens; older revisions answer 410 Gone. 0 keeps all history.")
	fs.DurationVar(&o.BookmarkInterval, "mysql-bookmark-interval", o.BookmarkInterval, "How often watches that allow bookmarks receive one.")
	fs.Int64Var(&o.WatchQueueBytes, "mysql-watch-queue-bytes", o.WatchQueueBytes,
		"Bytes of events (keys and stored objects) one watch may hold for a client that does not keep up; past it the watch is "+
			"ended and its client resumes from the last revision it received. One event is always let through.")
	fs.Int64Var(&o.DecodedCacheBytes, "mysql-decoded-cache-bytes", o.DecodedCacheBytes,
		"Stored bytes of recently read objects kept decoded (all resources together), so that a version read again (a page polled "+
			"again, an object just written, one change sent to several watches) is copied rather than parsed again. 0 keeps none.")
	fs.DurationVar(&o.ConnectTimeout, "mysql-connect-timeout", o.ConnectTimeout, "Timeout for establishing a connection to the database.")
	fs.DurationVar(&o.StatementTimeout, "mysql-statement-timeout", o.StatementTimeout,
		"Read and write timeout of a database connection, so a vanished server cannot hang a request that has no deadline.")
}

// Validate returns every problem with the options.
func (o *MySQLOptions) Validate() []error {
	if o == nil {
		return nil
	}
	var errs []error
	switch {
	case o.DSN == "" && o.Host == "":
		errs = append(errs, errors.New("--mysql-host (or --mysql-dsn) is required"))
	case o.DSN != "" && o.Host != "":
		errs = append(errs, errors.New("--mysql-dsn and --mysql-host are mutually exclusive"))
	case o.DSN != "":
		if err := mysqlstorage.ValidateDSN(o.DSN); err != nil {
			errs = append(errs, fmt.Errorf("--mysql-dsn: %w", err))
		}
	default:
		if o.Port < 1 || o.Port > 65535 {
			errs = append(errs, fmt.Errorf("--mysql-port %d is not a port number", o.Port))
		}
		if o.User == "" {
			errs = append(errs, errors.New("--mysql-user must not be empty"))
		}
		if o.Database == "" {
			errs = append(errs, errors.New("--mysql-database must not be empty"))
		}
		if o.PasswordFile != "" {
			if _, err := os.Stat(o.PasswordFile); err != nil {
				errs = append(errs, fmt.Errorf("--mysql-password-file: %w", err))
			}
		}
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		errs = append(errs, errors.New("--mysql-tls-cert-file and --mysql-tls-key-file go together"))
	}
	for flag, file := range map[string]string{"--mysql-tls-ca-file": o.TLSCAFile, "--mysql-tls-cert-file": o.TLSCertFile, "--mysql-tls-key-file": o.TLSKeyFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	if o.MaxOpenConns < 1 {
		errs = append(errs, fmt.Errorf("--mysql-max-open-conns must be at least 1, not %d", o.MaxOpenConns))
	}
	if o.MaxIdleConns < 0 || o.MaxIdleConns > o.MaxOpenConns {
		errs = append(errs, fmt.Errorf("--mysql-max-idle-conns must be between 0 and --mysql-max-open-conns, not %d", o.MaxIdleConns))
	}
	for flag, d := range map[string]time.Duration{
		"--mysql-watch-poll-interval": o.WatchPollInterval, "--mysql-bookmark-interval": o.BookmarkInterval,
		"--mysql-connect-timeout": o.ConnectTimeout, "--mysql-statement-timeout": o.StatementTimeout,
		"--mysql-conn-max-lifetime": o.ConnMaxLifetime,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, not %s", flag, d))
		}
	}
	if o.WatchQueueBytes < 1 {
		errs = append(errs, fmt.Errorf("--mysql-watch-queue-bytes must be positive, not %d", o.WatchQueueBytes))
	}
	if o.DecodedCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("--mysql-decoded-cache-bytes must not be negative, not %d", o.DecodedCacheBytes))
	}
	if o.HistoryRetention < 0 {
		errs = append(errs, fmt.Errorf("--mysql-history-retention must not be negative, not %s", o.HistoryRetention))
	}
	if !strings.HasPrefix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("--mysql-prefix must start with /, not %q", o.Prefix))
	}
	return errs
}

// ApplyTo fills the engine's configuration. It reads the password and TLS files.
func (o *MySQLOptions) ApplyTo(cfg *mysqlstorage.Config) error {
	dsn, err := o.buildDSN()
	if err != nil {
		return err
	}
	cfg.DSN = dsn
	cfg.MaxOpenConns = o.MaxOpenConns
	cfg.MaxIdleConns = o.MaxIdleConns
	cfg.ConnMaxLifetime = o.ConnMaxLifetime
	cfg.PollInterval = o.WatchPollInterval
	cfg.CompactionInterval = o.HistoryRetention
	cfg.BookmarkInterval = o.BookmarkInterval
	cfg.WatchQueueBytes = o.WatchQueueBytes
	cfg.DecodedCacheBytes = o.DecodedCacheBytes
	if o.DecodedCacheBytes == 0 {
		cfg.DecodedCacheBytes = -1 // none; the engine's zero means its default
	}
	return nil
}

func (o *MySQLOptions) buildDSN() (string, error) {
	var cfg *mysql.Config
	if o.DSN != "" {
		parsed, err := mysql.ParseDSN(o.DSN)
		if err != nil {
			return "", errors.New("--mysql-dsn is not a valid data source name")
		}
		cfg = parsed
	} else {
		cfg = mysql.NewConfig()
		cfg.User = o.User
		cfg.Net = "tcp"
		cfg.Addr = net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
		cfg.DBName = o.Database
		if o.PasswordFile != "" {
			pw, err := os.ReadFile(o.PasswordFile)
			if err != nil {
				return "", fmt.Errorf("reading --mysql-password-file: %w", err)
			}
			cfg.Passwd = strings.TrimRight(string(pw), "\r\n")
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = o.ConnectTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = o.StatementTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = o.StatementTimeout
	}
	if o.TLSCAFile != "" || o.TLSCertFile != "" {
		tlsCfg, err := o.tlsConfig(cfg.Addr)
		if err != nil {
			return "", err
		}
		if err := mysql.RegisterTLSConfig(tlsConfigName, tlsCfg); err != nil {
			return "", fmt.Errorf("registering the database TLS settings: %w", err)
		}
		cfg.TLSConfig = tlsConfigName
	}
	return cfg.FormatDSN(), nil
}

func (o *MySQLOptions) tlsConfig(addr string) (*tls.Config, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName}
	if tlsCfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tlsCfg.ServerName = host
	}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --mysql-tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--mysql-tls-ca-file %s holds no PEM certificate", o.TLSCAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if o.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the database client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	return tlsCfg, nil
}
