/*
 * Minimal i8042 PS/2 controller. See i8042.h.
 *
 * Linux's reboot path (BOOT_KBD) polls the status port until the input
 * buffer is empty, then writes 0xFE to it; the input buffer is always
 * empty here since every command takes effect immediately.
 */
#include <errno.h>
#include <string.h>

#include "devices/i8042.h"
#include "snapfile.h"

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_WRITE_KBD_OUTBUF 0xd2
#define CMD_WRITE_AUX_OUTBUF 0xd3
#define CMD_WRITE_AUX 0xd4

/* Pulse output port lines 0xf0..0xff: a clear bit in the low nibble pulses. */
#define CMD_PULSE_MASK 0xf0

static void respond(struct i8042 *k, uint8_t v, bool aux)
{
	k->out_data = v;
	k->obf = true;
	k->obf_aux = aux;
}

static uint8_t status_locked(const struct i8042 *k)
{
	uint8_t st = I8042_STR_KEYLOCK;

	if (k->obf)
		st |= I8042_STR_OBF;
	if (k->obf && k->obf_aux)
		st |= I8042_STR_AUXDATA;
	if (k->ctr & I8042_CTR_SYSFLAG)
		st |= I8042_STR_SYSFLAG;
	if (k->last_cmd)
		st |= I8042_STR_CMDDAT;
	return st;
}

/* Returns true when the guest asked for a reset. */
static bool command_locked(struct i8042 *k, uint8_t cmd)
{
	k->last_cmd = true;
	/* A new command cancels one still waiting for its data byte. */
	k->pending_cmd = 0;

	if ((cmd & CMD_PULSE_MASK) == CMD_PULSE_MASK)
		return !(cmd & I8042_OUTP_RESET);

	switch (cmd) {
	case CMD_READ_CTR:
		respond(k, k->ctr, false);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OUTBUF:
	case CMD_WRITE_AUX_OUTBUF:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		respond(k, 0x00, false); /* interface OK */
		break;
	case CMD_SELF_TEST:
		k->ctr |= I8042_CTR_SYSFLAG;
		respond(k, 0x55, false);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		respond(k, k->outport, false);
		break;
	default:
		break;
	}
	return false;
}

/* Returns true when the guest asked for a reset. */
static bool data_write_locked(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->last_cmd = false;
	k->pending_cmd = 0;

	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		k->outport = v;
		return !(v & I8042_OUTP_RESET);
	case CMD_WRITE_KBD_OUTBUF:
		respond(k, v, false);
		break;
	case CMD_WRITE_AUX_OUTBUF:
		respond(k, v, true);
		break;
	case CMD_WRITE_AUX:
	default:
		/* To the (absent) mouse or keyboard: dropped. */
		break;
	}
	return false;
}

/* Both ports: one byte at offset 0; wider reads fill with 0xff. */
static void port_io(struct i8042 *k, bool cmd_port, uint64_t offset,
		    uint8_t *data, uint32_t len, bool is_write)
{
	bool reset = false;

	if (!k || !data || !len)
		return;
	if (!is_write)
		memset(data, 0xff, len);
	if (offset != 0)
		return;

	pthread_mutex_lock(&k->lock);
	if (is_write && cmd_port) {
		reset = command_locked(k, data[0]);
	} else if (is_write) {
		reset = data_write_locked(k, data[0]);
	} else if (cmd_port) {
		data[0] = status_locked(k);
	} else {
		/* With nothing pending, the old byte reads again. */
		data[0] = k->out_data;
		k->obf = false;
		k->obf_aux = false;
	}
	pthread_mutex_unlock(&k->lock);

	if (reset)
		platform_raise(&k->plat, PLATFORM_REBOOT, 0);
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	port_io(opaque, false, offset, data, len, is_write);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write)
{
	port_io(opaque, true, offset, data, len, is_write);
}

int i8042_init(struct i8042 *k, const struct platform_ops *plat)
{
	int ret;

	if (!k)
		return -EINVAL;

	memset(k, 0, sizeof(*k));
	ret = pthread_mutex_init(&k->lock, NULL);
	if (ret)
		return -ret;
	if (plat)
		k->plat = *plat;
	/* As firmware leaves it: POST passed, kbd interrupt, translation. */
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYSFLAG | I8042_CTR_XLATE;
	k->outport = I8042_OUTP_RESET | I8042_OUTP_A20;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
}

void i8042_save(struct i8042 *k, struct snap_writer *w)
{
	pthread_mutex_lock(&k->lock);
	snap_put_u8(w, k->ctr);
	snap_put_u8(w, k->outport);
	snap_put_u8(w, k->out_data);
	snap_put_u8(w, k->obf);
	snap_put_u8(w, k->obf_aux);
	snap_put_u8(w, k->pending_cmd);
	snap_put_u8(w, k->last_cmd);
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, struct snap_reader *r)
{
	uint8_t v[7];

	snap_get_bytes(r, v, sizeof(v));
	if (snap_reader_done(r) || v[3] > 1 || v[4] > 1 || v[6] > 1)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->ctr = v[0];
	k->outport = v[1];
	k->out_data = v[2];
	k->obf = v[3];
	k->obf_aux = v[4];
	k->pending_cmd = v[5];
	k->last_cmd = v[6];
	pthread_mutex_unlock(&k->lock);
	return 0;
}
