/*
 * Minimal i8042 (PS/2 controller): enough for the guest to reset the
 * machine (command 0xFE, or clearing the reset bit of the output port) and
 * for the controller self-tests to pass. No keyboard or mouse is attached
 * and no interrupts are raised. Our FADT does not advertise an 8042, so
 * Linux leaves its i8042 driver alone (otherwise it would hit probe
 * timeouts; "i8042.noaux i8042.nomux i8042.nopnp" would avoid them) and
 * only the reboot path touches this device.
 *
 * Locking: k->lock guards the state; platform events are raised after the
 * lock is dropped, from the vCPU thread doing the access.
 */
#ifndef KVMLITE_DEVICES_I8042_H
#define KVMLITE_DEVICES_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform.h"

/* Status register (read at 0x64). */
#define I8042_STR_OBF 0x01     /* output buffer full: data at 0x60 */
#define I8042_STR_IBF 0x02     /* input buffer full: never, we are instant */
#define I8042_STR_SYSFLAG 0x04 /* mirrors the command byte's bit 2 */
#define I8042_STR_CMDDAT 0x08  /* last write went to the command port */
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited */
#define I8042_STR_AUXDATA 0x20 /* pending byte comes from the aux port */

/* Controller command byte (CTR). */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* Output port bits. */
#define I8042_OUTP_RESET 0x01 /* active low: clearing it resets the CPU */
#define I8042_OUTP_A20 0x02

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;	     /* controller command byte */
	uint8_t outport;     /* controller output port */
	uint8_t out_data;    /* byte readable at 0x60 */
	bool obf;	     /* out_data not yet read */
	bool obf_aux;	     /* ... and it came from the aux side */
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	bool last_cmd;	     /* last write was to 0x64 */
	struct platform_ops plat;
};

/* @plat is copied (may be NULL: events are dropped). 0 or -errno. */
int i8042_init(struct i8042 *k, const struct platform_ops *plat);
void i8042_destroy(struct i8042 *k);

struct snap_writer;
struct snap_reader;

/* Snapshots: the controller's registers. -EINVAL for a bad section
 * (nothing changed). */
void i8042_save(struct i8042 *k, struct snap_writer *w);
int i8042_restore(struct i8042 *k, struct snap_reader *r);

/* Bus handlers; opaque is the struct i8042. */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write); /* port 0x60 */
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write); /* port 0x64: status / command */

#endif
