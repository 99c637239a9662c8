/* cowbox login / logout: check credentials against a registry and keep
 * them in the auth file (image/auth.h), or remove them. */
#include "auth.h"
#include "cli.h"
#include "registry.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* "https://host:5000/v2/" -> "host:5000"; docker's Hub aliases -> docker.io. */
static char *registry_name(const char *arg)
{
	const char *p = strstr(arg, "://");
	p = p ? p + 3 : arg;
	char *name = strndup(p, strcspn(p, "/"));
	if (name &&
	    (strcmp(name, "index.docker.io") == 0 || strcmp(name, "registry-1.docker.io") == 0)) {
		free(name);
		name = strdup("docker.io");
	}
	return name;
}

/* One line from f without its line end; NULL at EOF before any byte. */
static char *read_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* Ask on the terminal; echo off for secrets. */
static char *prompt(const char *question, bool secret)
{
	_cleanup_fclose_ FILE *tty = fopen("/dev/tty", "r+e");
	if (!tty)
		return NULL;
	fputs(question, tty);
	fflush(tty);
	struct termios old, quiet;
	bool restore = false;
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	char *answer = read_line(tty);
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	return answer;
}

static int parse_tls_verify(const char *arg, enum cb_tls_verify *ret)
{
	if (!arg || strcmp(arg, "true") == 0)
		*ret = CB_TLS_VERIFY_YES;
	else if (strcmp(arg, "false") == 0)
		*ret = CB_TLS_VERIFY_NO;
	else
		return -EINVAL;
	return 0;
}

int cmd_login(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_STDIN = 256, OPT_TLS, OPT_AUTHFILE };
	static const struct option opts[] = {
	    {"username", required_argument, NULL, 'u'},
	    {"password", required_argument, NULL, 'p'},
	    {"password-stdin", no_argument, NULL, OPT_STDIN},
	    {"tls-verify", optional_argument, NULL, OPT_TLS},
	    {"authfile", required_argument, NULL, OPT_AUTHFILE},
	    {0},
	};
	const char *user_arg = NULL, *pass_arg = NULL, *authfile = NULL;
	bool from_stdin = false;
	enum cb_tls_verify tls = CB_TLS_VERIFY_DEFAULT;
	int c;
	while ((c = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user_arg = optarg;
			break;
		case 'p':
			pass_arg = optarg;
			break;
		case OPT_STDIN:
			from_stdin = true;
			break;
		case OPT_TLS:
			if (parse_tls_verify(optarg, &tls) < 0)
				return cli_error("--tls-verify=%s: expected true or false", optarg);
			break;
		case OPT_AUTHFILE:
			authfile = optarg;
			break;
		default:
			return cli_usage("login", true);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("login", true);
	if (from_stdin && pass_arg)
		return cli_error("login: --password and --password-stdin exclude each other");
	_cleanup_free_ char *registry = registry_name(argv[optind]);
	if (!registry || !registry[0])
		return cli_error("login %s: not a registry name", argv[optind]);

	_cleanup_free_ char *user = user_arg ? strdup(user_arg) : NULL;
	if (!user && !(from_stdin ? NULL : (user = prompt("Username: ", false))))
		return cli_error("login %s: no user name (use -u USER)", registry);
	_cleanup_free_ char *pass = NULL;
	if (from_stdin)
		pass = read_line(stdin);
	else if (pass_arg)
		pass = strdup(pass_arg);
	else
		pass = prompt("Password: ", true);
	if (!pass)
		return cli_error("login %s: no password (use --password-stdin)", registry);

	struct cb_error err = {0};
	struct cb_registry_options o = {.tls_verify = tls, .username = user, .password = pass};
	struct cb_registry *r = NULL;
	int k = cb_registry_new(registry, NULL, &o, &r, &err);
	if (k >= 0)
		k = cb_registry_ping(r, &err);
	cb_registry_free(r);
	if (k < 0) {
		explicit_bzero(pass, strlen(pass));
		return cli_fail(&err, k, "login %s", registry);
	}
	_cleanup_free_ char *path = authfile ? strdup(authfile) : NULL;
	if (!path && cb_auth_write_path(&path) < 0)
		return cli_error("login: out of memory");
	k = cb_auth_store(path, registry, user, pass, &err);
	explicit_bzero(pass, strlen(pass));
	if (k < 0)
		return cli_fail(&err, k, "login %s", registry);
	cli_log(cli, CB_LOG_INFO, "credentials for %s written to %s", registry, path);
	puts("Login Succeeded!");
	return 0;
}

int cmd_logout(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_AUTHFILE = 256 };
	static const struct option opts[] = {
	    {"authfile", required_argument, NULL, OPT_AUTHFILE},
	    {0},
	};
	const char *authfile = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_AUTHFILE:
			authfile = optarg;
			break;
		default:
			return cli_usage("logout", true);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("logout", true);
	_cleanup_free_ char *registry = registry_name(argv[optind]);
	if (!registry || !registry[0])
		return cli_error("logout %s: not a registry name", argv[optind]);
	_cleanup_free_ char *path = authfile ? strdup(authfile) : NULL;
	if (!path && cb_auth_write_path(&path) < 0)
		return cli_error("logout: out of memory");
	struct cb_error err = {0};
	int k = cb_auth_remove(path, registry, &err);
	if (k == -ENOENT) {
		_cleanup_free_ char *u = NULL, *p = NULL, *other = NULL;
		struct cb_error ignored = {0};
		if (!authfile && cb_auth_lookup(registry, &u, &p, &other, &ignored) >= 0) {
			explicit_bzero(p, strlen(p));
			return cli_error("logout %s: credentials are in %s, which cowbox does not "
					 "change",
					 registry, other);
		}
		return cli_error("logout %s: not logged in", registry);
	}
	if (k < 0)
		return cli_fail(&err, k, "logout %s", registry);
	printf("Removed login credentials for %s\n", registry);
	return 0;
}
