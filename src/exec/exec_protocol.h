/*
 * What the library and its exec init (src/guest/exec_init.c) agree on:
 * the plan file, the console framing and the two ports.
 *
 * The plan, /kvmlite-exec in the initramfs: NUL-terminated strings, a
 * key and its fields: "arg" VALUE (repeated, in order), "cwd" PATH,
 * "root" TAG, "module" PATH (in load order), "share" TAG MOUNTPOINT "0"|"1"
 * (read-only).
 *
 * The console (ttyS0, raw): the init writes frames EXEC_FRAME_START,
 * type (EXEC_FRAME_STDOUT or EXEC_FRAME_STDERR), length (16 bits, little
 * endian, 1..EXEC_FRAME_MAX), payload. Bytes outside frames are the
 * kernel's (panics): they go to stderr.
 */
#ifndef KVMLITE_EXEC_PROTOCOL_H
#define KVMLITE_EXEC_PROTOCOL_H

#define EXEC_PLAN_PATH "/kvmlite-exec"
#define EXEC_ROOT_TAG "kvmlite-root"

#define EXEC_FRAME_START 0x00
#define EXEC_FRAME_STDOUT 'o'
#define EXEC_FRAME_STDERR 'e'
#define EXEC_FRAME_MAX 4096

/* The command's status (the test-exit port), and the init's own failure
 * with one of the statuses below. */
#define EXEC_PORT_EXIT 0xf4
#define EXEC_PORT_FAIL 0xf7

/* As docker run: the init could not set up (module, mount...), the
 * command cannot be run, the command was not found. */
#define EXEC_STATUS_SETUP 125
#define EXEC_STATUS_CANNOT_RUN 126
#define EXEC_STATUS_NOT_FOUND 127

#endif
