#!/usr/bin/perl
# Carries a non-terminal stdin (pipe, file) over the test host's serial
# console, which has no notion of end-of-file:
#   encode READYFILE   (this machine) waits until READYFILE exists (the test
#                      host has put its serial port in raw mode), then copies
#                      stdin to stdout with 0xff escaped as ff 00, and ends
#                      with ff 01 at EOF.
#   decode             (test host) the reverse: serial port -> COMMAND's
#                      stdin pipe, closing it at ff 01.
use strict;
use warnings;

sub put {
	my ($data) = @_;
	while (length $data) {
		my $n = syswrite(STDOUT, $data);
		exit 0 unless defined $n;    # reader went away: nothing more to do
		substr($data, 0, $n) = '';
	}
}

binmode STDIN;
binmode STDOUT;
$SIG{PIPE} = 'IGNORE';
my $mode = shift // '';

if ($mode eq 'encode') {
	my $ready = shift;
	select(undef, undef, undef, 0.02) until -e $ready;
	my $chunk;
	while (sysread(STDIN, $chunk, 65536)) {
		$chunk =~ s/\xff/\xff\x00/g;
		put($chunk);
	}
	put("\xff\x01");
} elsif ($mode eq 'decode') {
	my ($buf, $chunk) = ('', '');
	while (sysread(STDIN, $chunk, 65536)) {
		$buf .= $chunk;
		my ($out, $eof) = ('', 0);
		while ((my $i = index($buf, "\xff")) >= 0) {
			last if $i + 1 >= length $buf;    # escape split across reads
			$out .= substr($buf, 0, $i);
			my $c = substr($buf, $i + 1, 1);
			$buf = substr($buf, $i + 2);
			if ($c eq "\x01") { $eof = 1; $buf = ''; last }
			$out .= "\xff";
		}
		my $i = index($buf, "\xff");
		if ($i < 0) { $out .= $buf; $buf = '' }
		else { $out .= substr($buf, 0, $i); $buf = substr($buf, $i) }
		put($out);
		exit 0 if $eof;
	}
} else {
	die "usage: stdin-relay.pl encode READYFILE | decode\n";
}
