#include "loader/elf_check.hpp"

#include <elf.h>

#include <cstring>

#include "common/error.hpp"

namespace livebot::loader {

namespace {

template <class T>
const T *at(std::string_view bytes, uint64_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return nullptr;
  return reinterpret_cast<const T *>(bytes.data() + offset);
}

bool fits(std::string_view bytes, uint64_t offset, uint64_t count, uint64_t entsize) {
  if (entsize != 0 && count > (UINT64_MAX / entsize)) return false;
  const uint64_t len = count * entsize;
  return offset <= bytes.size() && len <= bytes.size() - offset;
}

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

void check_elf(std::string_view bytes, const std::string &where) {
  if (bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    throw Error(where, "not an ELF file");
  if (bytes.size() < sizeof(Elf64_Ehdr))
    throw Error(where, "not a complete ELF file (" + num(bytes.size()) + " bytes, header needs " +
                           num(sizeof(Elf64_Ehdr)) + ")");
  const auto *eh = at<Elf64_Ehdr>(bytes, 0);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) throw Error(where, "not an ELF file");
  if (eh->e_ident[EI_CLASS] != ELFCLASS64) throw Error(where, "not a 64-bit ELF object");
  if (eh->e_ident[EI_DATA] != ELFDATA2LSB) throw Error(where, "not a little-endian ELF object");
  if (eh->e_type != ET_DYN) throw Error(where, "not a shared object (ELF type " + num(eh->e_type) + ")");
#if defined(__x86_64__)
  if (eh->e_machine != EM_X86_64) throw Error(where, "built for another machine (e_machine " + num(eh->e_machine) + ")");
#elif defined(__aarch64__)
  if (eh->e_machine != EM_AARCH64) throw Error(where, "built for another machine (e_machine " + num(eh->e_machine) + ")");
#endif
  if (eh->e_phnum == 0 || eh->e_phentsize != sizeof(Elf64_Phdr))
    throw Error(where, "has no usable program header table");
  if (!fits(bytes, eh->e_phoff, eh->e_phnum, eh->e_phentsize))
    throw Error(where, "truncated: program headers end past the file's " + num(bytes.size()) + " bytes");
  if (eh->e_shnum == 0 || eh->e_shentsize != sizeof(Elf64_Shdr))
    throw Error(where, "has no section header table (incomplete write?)");
  if (!fits(bytes, eh->e_shoff, eh->e_shnum, eh->e_shentsize))
    throw Error(where, "truncated: section headers end past the file's " + num(bytes.size()) + " bytes");
  for (uint16_t i = 0; i < eh->e_phnum; ++i) {
    const auto *ph = at<Elf64_Phdr>(bytes, eh->e_phoff + uint64_t(i) * sizeof(Elf64_Phdr));
    if (ph->p_type == PT_LOAD && !fits(bytes, ph->p_offset, ph->p_filesz, 1))
      throw Error(where, "truncated: loadable segment " + num(i) + " ends past the file");
  }
  for (uint16_t i = 0; i < eh->e_shnum; ++i) {
    const auto *sh = at<Elf64_Shdr>(bytes, eh->e_shoff + uint64_t(i) * sizeof(Elf64_Shdr));
    if (sh->sh_type != SHT_NOBITS && !fits(bytes, sh->sh_offset, sh->sh_size, 1))
      throw Error(where, "truncated: section " + num(i) + " ends past the file");
  }
}

std::vector<std::string> gnu_unique_symbols(std::string_view bytes) {
  std::vector<std::string> out;
  const auto *eh = at<Elf64_Ehdr>(bytes, 0);
  const auto section = [&](uint64_t i) {
    return at<Elf64_Shdr>(bytes, eh->e_shoff + i * sizeof(Elf64_Shdr));
  };
  for (uint16_t i = 0; i < eh->e_shnum; ++i) {
    const auto *sh = section(i);
    if (sh->sh_type != SHT_DYNSYM || sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= eh->e_shnum)
      continue;
    const auto *strtab = section(sh->sh_link);
    const uint64_t count = sh->sh_size / sizeof(Elf64_Sym);
    for (uint64_t s = 0; s < count; ++s) {
      const auto *sym = at<Elf64_Sym>(bytes, sh->sh_offset + s * sizeof(Elf64_Sym));
      if (!sym || ELF64_ST_BIND(sym->st_info) != STB_GNU_UNIQUE || sym->st_shndx == SHN_UNDEF) continue;
      const uint64_t off = strtab->sh_offset + sym->st_name;
      if (off >= bytes.size()) continue;
      const char *name = bytes.data() + off;
      out.emplace_back(name, strnlen(name, bytes.size() - off));
    }
  }
  return out;
}

std::string gnu_unique_problem(const std::vector<std::string> &symbols) {
  return "has STB_GNU_UNIQUE symbol '" + symbols.front() + "' (" + num(symbols.size()) +
         " in all): it will stay mapped after unload, so a reload cannot replace it; build with -fno-gnu-unique";
}

}  // namespace livebot::loader
